// SPDX-License-Identifier: MIT
/*
 * tests/tools/rdma_hostile.c — 不守規矩的 RDMA 客戶端(只給 tests/rdma.sh 用)
 *
 * 它說 rdma_communication 的線路協定(版本 2),但刻意拿掉自己這一側的檢查:越界的 RDMA
 * READ / WRITE、用別條連線的 key、沒有權限的操作、說謊的 hello、壞掉的 hello、不認得的控制
 * 訊息、比對方緩衝區長的 SEND、不等 credit 狂送、連上後裝死。每個探測用一條新連線(一次
 * remote access error 就會讓 QP 進入錯誤狀態),印一行
 *   PROBE 名稱 expected|UNEXPECTED 說明
 * 全部符合預期時結束碼 0,否則 1;用法錯誤 64。
 *
 * 用法:rdma_hostile 伺服器IP [--port N] 探測 [探測…]
 *   window        demo 連線,視窗內的 WRITE 與 READ 都要成功(對照組:工具本身沒壞)
 *   oob-write     WRITE 到視窗結尾之後(偏移 = 視窗長度)          預期:remote access error
 *   oob-read      READ 跨過視窗結尾                                預期:remote access error
 *   below-read    READ 偏移 2^64-4096(視窗「之前」)              預期:remote access error
 *   far-write     WRITE 偏移 1 GiB                                 預期:remote access error
 *   perm-write    lat read 連線(視窗只有 REMOTE_READ)去 WRITE     預期:remote access error
 *   perm-read     bw write 連線(視窗只有 REMOTE_WRITE)去 READ      預期:remote access error
 *   key=0xK       demo 連線,用別人的 key(別條連線的 rkey 或本地 MR 的 lkey)READ 與 WRITE
 *                 偏移 0                                           預期:remote access error
 *   lie           hello 要 64 MiB × 1024 的 bw send               預期:被拒絕,原因「記憶體不足」
 *   bad-hello     magic 錯誤的 hello                               預期:被拒絕,原因「參數不合理」
 *   garbage       連上後送不認得種類的控制訊息                      預期:伺服器在 10 秒內關閉連線
 *   overlong      送比伺服器接收緩衝區長的 SEND                    預期:錯誤或伺服器關閉連線
 *   flood         不等 credit 連送 4 倍 RECV 數的 SEND              預期:RNR 錯誤或全數送達(伺服器不受影響)
 *   idle          連上後什麼都不做                                  預期:伺服器在 10 秒內關閉連線
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define HELLO_MAGIC 0x4b425352u
#define PROTO_VERSION 2
#define BUF_LEN (1u << 20)

struct hello {
	uint32_t magic;
	uint8_t version, test, op, use_imm;
	uint32_t size, depth, iters, duration;
	uint32_t win_len, win_rkey;
} __attribute__((packed));

struct welcome {
	uint32_t magic;
	uint8_t version, pad[3];
	uint32_t depth, recv_credits, win_len, win_rkey;
} __attribute__((packed));

struct refusal {
	uint32_t magic;
	uint8_t reason, detail, pad[2];
	uint32_t limit, need, used;
} __attribute__((packed));

enum { TEST_DEMO, TEST_LAT, TEST_BW };
enum { OP_SEND, OP_WRITE, OP_READ };

struct session {
	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	char *buf;
	struct welcome w;
	struct refusal rf;
	bool rejected;
};

static const char *server_ip;
static int port = 7471;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static struct rdma_cm_event *wait_event(struct rdma_event_channel *ec, int ms)
{
	struct pollfd p = { .fd = ec->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	if (poll(&p, 1, ms) <= 0 || rdma_get_cm_event(ec, &ev))
		return NULL;
	return ev;
}

static void close_session(struct session *s)
{
	if (s->id && s->id->qp)
		rdma_disconnect(s->id);
	if (s->id && s->id->qp)
		rdma_destroy_qp(s->id);
	if (s->mr)
		ibv_dereg_mr(s->mr);
	free(s->buf);
	if (s->cq)
		ibv_destroy_cq(s->cq);
	if (s->pd)
		ibv_dealloc_pd(s->pd);
	if (s->id)
		rdma_destroy_id(s->id);
	if (s->ec)
		rdma_destroy_event_channel(s->ec);
	memset(s, 0, sizeof(*s));
}

/* 連線;hello 由呼叫者給。回傳 0 = ESTABLISHED,1 = 被拒絕,-1 = 其他錯誤 */
static int open_session(struct session *s, struct hello *h, size_t hlen)
{
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct ibv_qp_init_attr qa = { .cap = { .max_send_wr = 512, .max_recv_wr = 64, .max_send_sge = 1,
						.max_recv_sge = 1 },
				       .qp_type = IBV_QPT_RC };
	struct rdma_conn_param cp = { .private_data = h, .private_data_len = (uint8_t)hlen,
				      .responder_resources = 1, .initiator_depth = 1, .retry_count = 6,
				      .rnr_retry_count = 1 };
	enum rdma_cm_event_type want[] = { RDMA_CM_EVENT_ADDR_RESOLVED, RDMA_CM_EVENT_ROUTE_RESOLVED };
	struct rdma_cm_event *ev;

	memset(s, 0, sizeof(*s));
	if (inet_pton(AF_INET, server_ip, &dst.sin_addr) != 1)
		return -1;
	s->ec = rdma_create_event_channel();
	if (!s->ec || rdma_create_id(s->ec, &s->id, NULL, RDMA_PS_TCP) ||
	    rdma_resolve_addr(s->id, NULL, (struct sockaddr *)&dst, 2000))
		return -1;
	for (int i = 0; i < 2; i++) {
		ev = wait_event(s->ec, 5000);
		if (!ev)
			return -1;
		bool ok = ev->event == want[i];

		rdma_ack_cm_event(ev);
		if (!ok || (i == 0 && rdma_resolve_route(s->id, 2000)))
			return -1;
	}
	s->pd = ibv_alloc_pd(s->id->verbs);
	s->cq = s->pd ? ibv_create_cq(s->id->verbs, 1024, NULL, NULL, 0) : NULL;
	s->buf = calloc(1, BUF_LEN);
	if (!s->cq || !s->buf)
		return -1;
	/* 工具自己的記憶體:全部權限(它不是受測的對象) */
	s->mr = ibv_reg_mr(s->pd, s->buf, BUF_LEN,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	qa.send_cq = qa.recv_cq = s->cq;
	if (!s->mr || rdma_create_qp(s->id, s->pd, &qa))
		return -1;
	if (!h->win_rkey)
		h->win_rkey = htonl(s->mr->rkey);
	for (uint32_t i = 0; i < 64; i++) {
		struct ibv_sge sge = { .addr = (uintptr_t)s->buf + BUF_LEN / 2 + i * 4096, .length = 4096,
				       .lkey = s->mr->lkey };
		struct ibv_recv_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1 }, *bad;

		if (ibv_post_recv(s->id->qp, &wr, &bad))
			return -1;
	}
	if (rdma_connect(s->id, &cp))
		return -1;
	ev = wait_event(s->ec, 10000);
	if (!ev)
		return -1;
	if (ev->event == RDMA_CM_EVENT_ESTABLISHED && ev->param.conn.private_data_len >= sizeof(s->w)) {
		memcpy(&s->w, ev->param.conn.private_data, sizeof(s->w));
		rdma_ack_cm_event(ev);
		return 0;
	}
	if (ev->event == RDMA_CM_EVENT_REJECTED) {
		s->rejected = true;
		if (ev->param.conn.private_data_len >= sizeof(s->rf))
			memcpy(&s->rf, ev->param.conn.private_data, sizeof(s->rf));
		rdma_ack_cm_event(ev);
		rdma_destroy_qp(s->id);
		return 1;
	}
	rdma_ack_cm_event(ev);
	return -1;
}

/* win_rkey 留 0:open_session 註冊完自己的 MR 後填入 */
static struct hello make_hello(uint8_t test, uint8_t op, uint32_t size, uint32_t depth)
{
	return (struct hello){ .magic = htonl(HELLO_MAGIC), .version = PROTO_VERSION, .test = test, .op = op,
			       .size = htonl(size), .depth = htonl(depth), .iters = htonl(1000),
			       .win_len = htonl(4096) };
}

/* 不檢查任何邊界:直接 post 一個 RDMA 操作(或 SEND),等它的 CQE,回傳 wc.status(-1 = 逾時) */
static int do_op(struct session *s, enum ibv_wr_opcode opc, uint64_t raddr, uint32_t rkey, uint32_t len)
{
	struct ibv_sge sge = { .addr = (uintptr_t)s->buf, .length = len, .lkey = s->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = 1, .sg_list = &sge, .num_sge = 1, .opcode = opc,
				  .send_flags = IBV_SEND_SIGNALED }, *bad;
	uint64_t end = now_ms() + 10000;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = rkey;
	if (ibv_post_send(s->id->qp, &wr, &bad))
		return -2;
	while (now_ms() < end) {
		struct ibv_wc wc;
		int n = ibv_poll_cq(s->cq, 1, &wc);

		if (n < 0)
			return -2;
		if (n == 1 && !(wc.opcode & IBV_WC_RECV) && wc.wr_id == 1)
			return wc.status;
		if (n == 0) {
			struct timespec ms = { 0, 1000000 };

			nanosleep(&ms, NULL);
		}
	}
	return -1;
}

/* 等伺服器中斷連線(DISCONNECTED 或 QP 錯誤);回傳花了幾毫秒,逾時 -1 */
static long wait_dropped(struct session *s, int ms)
{
	uint64_t t0 = now_ms();
	struct rdma_cm_event *ev;

	while (now_ms() - t0 < (uint64_t)ms) {
		ev = wait_event(s->ec, 100);
		if (ev) {
			bool gone = ev->event == RDMA_CM_EVENT_DISCONNECTED;

			rdma_ack_cm_event(ev);
			if (gone)
				return (long)(now_ms() - t0);
		}
	}
	return -1;
}

static int report(const char *name, bool expected, const char *fmt, const char *detail)
{
	printf("PROBE %s %s ", name, expected ? "expected" : "UNEXPECTED");
	printf(fmt, detail);
	printf("\n");
	fflush(stdout);
	return expected ? 0 : 1;
}

static const char *st(int status)
{
	return status == -1 ? "逾時" : status == -2 ? "post 失敗" : ibv_wc_status_str((enum ibv_wc_status)status);
}

/* 越界 / 沒有權限 / 別人的 key:預期 remote access error。from_end:偏移從視窗結尾算 */
static int probe_access(const char *name, uint8_t test, uint8_t op, enum ibv_wr_opcode opc, int64_t off,
			bool from_end, uint32_t len, long key)
{
	struct session s;
	struct hello h = make_hello(test, op, 64, test == TEST_BW ? 4 : 1);
	char detail[160];
	int r, status;

	r = open_session(&s, &h, sizeof(h));
	if (r) {
		close_session(&s);
		return report(name, false, "無法連線:%s", r > 0 ? "被拒絕" : "錯誤");
	}
	uint32_t rkey = key >= 0 ? (uint32_t)key : ntohl(s.w.win_rkey);
	uint64_t raddr = (uint64_t)off + (from_end ? ntohl(s.w.win_len) : 0);

	status = do_op(&s, opc, raddr, rkey, len);
	snprintf(detail, sizeof(detail), "%s 偏移 0x%llx 長度 %u rkey 0x%x(視窗 %u 位元組)-> %s",
		 opc == IBV_WR_RDMA_READ ? "READ" : "WRITE", (unsigned long long)raddr, len, rkey,
		 ntohl(s.w.win_len), st(status));
	close_session(&s);
	return report(name, status == IBV_WC_REM_ACCESS_ERR, "%s", detail);
}

static int probe_window(void)
{
	struct session s;
	struct hello h = make_hello(TEST_DEMO, OP_SEND, 64, 1);
	char detail[160];
	int w, r;

	if (open_session(&s, &h, sizeof(h))) {
		close_session(&s);
		return report("window", false, "%s", "無法連線");
	}
	memcpy(s.buf, "hostile-ok", 10);
	w = do_op(&s, IBV_WR_RDMA_WRITE, 0, ntohl(s.w.win_rkey), 16);
	memset(s.buf, 0, 16);
	r = do_op(&s, IBV_WR_RDMA_READ, ntohl(s.w.win_len) - 16, ntohl(s.w.win_rkey), 16);
	snprintf(detail, sizeof(detail), "視窗 %u 位元組:WRITE [0,16) -> %s,READ [len-16,len) -> %s",
		 ntohl(s.w.win_len), st(w), st(r));
	close_session(&s);
	return report("window", w == IBV_WC_SUCCESS && r == IBV_WC_SUCCESS, "%s", detail);
}

static int probe_reject(const char *name, bool lie)
{
	struct session s;
	struct hello h;
	char detail[160];
	int r;

	h = make_hello(TEST_BW, OP_SEND, 64u << 20, 1024);
	h.win_rkey = htonl(1);
	if (!lie)
		h.magic = htonl(0x12345678);
	r = open_session(&s, &h, sizeof(h));
	snprintf(detail, sizeof(detail), "%s,原因碼 %u(細節 %u,需要 %u KiB,上限 %u KiB)",
		 r == 1 ? "被拒絕" : r == 0 ? "被接受了!" : "錯誤", s.rf.reason, s.rf.detail, ntohl(s.rf.need),
		 ntohl(s.rf.limit));
	bool ok = r == 1 && ntohl(s.rf.magic) == HELLO_MAGIC && s.rf.reason == (lie ? 2 : 3);

	close_session(&s);
	return report(name, ok, "%s", detail);
}

/* 連上(lat send)後做壞事,等伺服器把我們斷線 */
static int probe_misbehave(const char *name)
{
	struct session s;
	struct hello h = make_hello(TEST_LAT, OP_SEND, 64, 1);
	char detail[160];
	int status = 0;
	long dt;

	if (!strcmp(name, "idle"))
		h.test = TEST_BW, h.op = OP_WRITE, h.depth = htonl(4);
	if (open_session(&s, &h, sizeof(h))) {
		close_session(&s);
		return report(name, false, "%s", "無法連線");
	}
	if (!strcmp(name, "garbage")) {
		memset(s.buf, 0, 24);
		s.buf[0] = 'Z';
		status = do_op(&s, IBV_WR_SEND, 0, 0, 24);
	} else if (!strcmp(name, "overlong")) {
		memset(s.buf, 'D', 4096);
		status = do_op(&s, IBV_WR_SEND, 0, 0, 4096);
	}
	dt = status == IBV_WC_SUCCESS ? wait_dropped(&s, 10000) : 0;
	snprintf(detail, sizeof(detail), "SEND -> %s;伺服器%s", status ? st(status) : "成功",
		 dt < 0 ? "10 秒內沒有斷線" : "關閉了連線");
	if (dt > 0)
		printf("    伺服器在 %ld ms 後關閉連線\n", dt);
	close_session(&s);
	/* overlong:對方的 RECV 放不下,我們的 SEND 以錯誤完成;garbage / idle:伺服器要主動斷線 */
	return report(name, dt >= 0, "%s", detail);
}

static int probe_flood(void)
{
	struct session s;
	struct hello h = make_hello(TEST_BW, OP_SEND, 64, 4);
	char detail[160];
	uint32_t n, ok = 0, bad = 0;
	int last = 0;

	if (open_session(&s, &h, sizeof(h))) {
		close_session(&s);
		return report("flood", false, "%s", "無法連線");
	}
	n = ntohl(s.w.recv_credits) * 4;
	memset(s.buf, 'D', 64);
	for (uint32_t i = 0; i < n; i++) {
		struct ibv_sge sge = { .addr = (uintptr_t)s.buf, .length = 64, .lkey = s.mr->lkey };
		struct ibv_send_wr wr = { .wr_id = 2, .sg_list = &sge, .num_sge = 1, .opcode = IBV_WR_SEND,
					  .send_flags = IBV_SEND_SIGNALED }, *bad_wr;

		ibv_post_send(s.id->qp, &wr, &bad_wr);
	}
	for (uint64_t end = now_ms() + 10000; ok + bad < n && now_ms() < end;) {
		struct ibv_wc wc;

		if (ibv_poll_cq(s.cq, 1, &wc) == 1 && !(wc.opcode & IBV_WC_RECV) && wc.wr_id == 2) {
			if (wc.status == IBV_WC_SUCCESS) {
				ok++;
			} else {
				bad++;
				last = wc.status;
			}
		}
	}
	snprintf(detail, sizeof(detail), "credit %u,連送 %u 則:成功 %u、失敗 %u(%s)", ntohl(s.w.recv_credits), n,
		 ok, bad, bad ? st(last) : "無");
	close_session(&s);
	return report("flood", ok + bad == n, "%s", detail);
}

int main(int argc, char **argv)
{
	int fails = 0, i = 2;

	if (argc < 3 || argv[1][0] == '-') {
		fprintf(stderr, "用法:rdma_hostile 伺服器IP [--port N] 探測…(見原始檔開頭)\n");
		return 64;
	}
	server_ip = argv[1];
	if (!strcmp(argv[2], "--port") && argc > 4) {
		port = atoi(argv[3]);
		i = 4;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; i < argc; i++) {
		const char *p = argv[i];

		if (!strcmp(p, "window"))
			fails += probe_window();
		else if (!strcmp(p, "oob-write"))
			fails += probe_access(p, TEST_DEMO, OP_SEND, IBV_WR_RDMA_WRITE, 0, true, 16, -1);
		else if (!strcmp(p, "oob-read"))
			fails += probe_access(p, TEST_DEMO, OP_SEND, IBV_WR_RDMA_READ, -8, true, 16, -1);
		else if (!strcmp(p, "below-read"))
			fails += probe_access(p, TEST_DEMO, OP_SEND, IBV_WR_RDMA_READ, -4096, false, 16, -1);
		else if (!strcmp(p, "far-write"))
			fails += probe_access(p, TEST_DEMO, OP_SEND, IBV_WR_RDMA_WRITE, 1ll << 30, false, 16, -1);
		else if (!strcmp(p, "perm-write"))
			fails += probe_access(p, TEST_LAT, OP_READ, IBV_WR_RDMA_WRITE, 0, false, 16, -1);
		else if (!strcmp(p, "perm-read"))
			fails += probe_access(p, TEST_BW, OP_WRITE, IBV_WR_RDMA_READ, 0, false, 16, -1);
		else if (!strncmp(p, "key=", 4)) {
			long key = strtol(p + 4, NULL, 0);

			fails += probe_access(p, TEST_DEMO, OP_SEND, IBV_WR_RDMA_READ, 0, false, 16, key);
			fails += probe_access(p, TEST_DEMO, OP_SEND, IBV_WR_RDMA_WRITE, 0, false, 16, key);
		} else if (!strcmp(p, "lie") || !strcmp(p, "bad-hello"))
			fails += probe_reject(p, !strcmp(p, "lie"));
		else if (!strcmp(p, "garbage") || !strcmp(p, "overlong") || !strcmp(p, "idle"))
			fails += probe_misbehave(p);
		else if (!strcmp(p, "flood"))
			fails += probe_flood();
		else {
			fprintf(stderr, "錯誤:不認得的探測「%s」\n", p);
			return 64;
		}
	}
	return fails ? 1 : 0;
}
