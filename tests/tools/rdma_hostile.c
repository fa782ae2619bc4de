// SPDX-License-Identifier: MIT
/*
 * tests/tools/rdma_hostile.c — 不守規矩的 RDMA 客戶端(只給 tests/rdma.sh 用)
 *
 * 它說 rdma_communication 的線路協定(版本 3),但刻意拿掉自己這一側的檢查:越界的 RDMA
 * READ / WRITE、用別條連線的 key、沒有權限的操作、說謊的 hello、壞掉的 hello、不認得的控制
 * 訊息、比對方緩衝區長的 SEND、不等 credit 狂送、連上後裝死。每個探測用一條新連線(一次
 * remote access error 就會讓 QP 進入錯誤狀態),印一行
 *   PROBE 名稱 expected|UNEXPECTED 說明
 * 全部符合預期時結束碼 0,否則 1;用法錯誤 64。
 *
 * 用法:rdma_hostile 伺服器IP [--port N] [--bind 位址] [--hold-secs S] [--retry N] [--rnr N] 探測 [探測…]
 *   --bind:連線的來源位址(同一台 VM 的 eth0 上另加的位址,在伺服器眼裡就是「另一個對方」)
 *   --hold-secs:hold 佔住的秒數(預設 20)
 *   --retry / --rnr:連線要求裡的傳輸重試與 RNR 重試次數(預設 6;IB CM 規定這是伺服器的 QP 要用的)
 *   window        demo 連線,視窗內的 WRITE 與 READ 都要成功(對照組:工具本身沒壞)
 *   oob-write     WRITE 到視窗結尾之後(偏移 = 視窗長度)          預期:remote access error
 *   oob-read      READ 跨過視窗結尾                                預期:remote access error
 *   below-read    READ 偏移 2^64-4096(視窗「之前」)              預期:remote access error
 *   far-write     WRITE 偏移 1 GiB                                 預期:remote access error
 *   perm-write    lat read 連線(視窗只有 REMOTE_READ)去 WRITE     預期:remote access error
 *   perm-read     bw write 連線(視窗只有 REMOTE_WRITE)去 READ      預期:remote access error 或
 *                 remote invalid request(伺服器的 QP 在 WRITE 測試不接受 READ)
 *   key=0xK       demo 連線,用別人的 key(別條連線的 rkey 或本地 MR 的 lkey)READ 與 WRITE
 *                 偏移 0                                           預期:remote access error
 *   lie           hello 要 64 MiB × 1024 的 bw send               預期:被拒絕,原因「記憶體不足」
 *   bad-hello     magic 錯誤的 hello                               預期:被拒絕,原因「參數不合理」
 *   hello-version / hello-kind / hello-size / hello-depth / hello-count / hello-window
 *                 hello 的某一欄說謊(版本 1、bw 卻要 use_imm、大小 0、深度 0、次數與秒數都 0、
 *                 WRITE 延遲測試的視窗比訊息小)                   預期:被拒絕,「參數不合理」與那一欄
 *   retry7 / rnr7 連線要求的傳輸重試或 RNR 重試是 7(IB CM:這個數字是「伺服器的」QP 要用的;
 *                 Soft-RoCE 把 7 當成無限)                         預期:被拒絕,「參數不合理」
 *   garbage       連上後送不認得種類的控制訊息                      預期:伺服器立刻關閉連線
 *   short-ctrl    控制訊息只有 8 位元組                             預期:伺服器立刻關閉連線
 *   zero-send     長度 0 的 SEND                                    預期:伺服器立刻關閉連線
 *   data-in-write bw write 連線裡送資料 SEND                        預期:伺服器立刻關閉連線
 *   imm-unasked   沒有約定 use_imm 卻送 WRITE_WITH_IMM              預期:伺服器立刻關閉連線
 *   overlong      送比伺服器接收緩衝區長的 SEND                    預期:SEND 以錯誤完成或伺服器立刻關閉連線
 *                 (「立刻」= QUICK_MS 內,遠短於伺服器的 6 秒活動期限:慢慢閒置斷線不算)
 *   flood         不等 credit 連送 4 倍 RECV 數的 SEND              預期:RNR 錯誤或全數送達(伺服器不受影響)
 *   idle          連上後什麼都不做                                  預期:伺服器在 10 秒內關閉連線
 *   vanish        bw write 連線(4032 位元組),連上後拆掉自己的 QP 但不中斷連線(像主機突然消失:
 *                 沒有 DREQ,封包沒人回)                          預期:伺服器的 keepalive 在 QUICK_MS × 2
 *                 內發現並中斷連線(比 6 秒的活動期限早)
 *   cross         同時開兩條 demo 連線,用第一條的視窗 rkey 在第二條上 READ / WRITE
 *                                                                  預期:remote access error
 *   stale         demo 連線結束後,用它的視窗 rkey 在新連線上 WRITE    預期:remote access error
 *   escape        demo 連線,問候文字與寫進視窗的內容都夾帶終端機控制碼  預期:伺服器照常完成(它印出的
 *                 文字由 tests/rdma.sh 檢查沒有控制碼)
 *   trickle       lat send 連線,每 15 ms 送一則資料 SEND,持續 TRICKLE_S 秒   預期:每則都得到回應
 *                 (伺服器的 CPU 由 tests/rdma.sh 檢查:慢慢來的對方不能讓它一直忙碌輪詢)
 *   half-open=N   送出 N 個連線要求,收到伺服器的回應後永遠不完成握手(不送 RTU),保持 HOLD_S 秒
 *                 預期:每個都得到回應(伺服器在它的期限後自己放棄,由 tests/rdma.sh 檢查)
 *   hold=N[:ping|alive|write|bwsend][:大小][:d深度][:p秒][:refill]
 *                 一次佔住很多條:依序開到 N 條(遇到第一次拒絕就停,印 HOLD_READY 與拒絕原因;沒有回應的
 *                 同一條最多試 3 次),佔住 --hold-secs 秒,每條每秒(:p 秒)做一次事:ping = lat send 真的 SEND(有進展)、alive = 只送 'L'
 *                 (沒有進展)、write = bw write(大小預設 64 KiB)的 64 位元組 WRITE 加 'L' 回報、bwsend =
 *                 bw send 的一則 SEND;refill = 被伺服器結束的每秒再開回來。最後印 HOLD_END:
 *                 被伺服器以哪個原因('X' 的 time / iters / yield / idle / shutdown)結束各幾條
 *                 預期:至少開得起一條(上限與公平由 tests/rdma.sh 從這兩行與伺服器的記錄檢查)
 *   churn=N       N 次「連上就斷」(demo)                          預期:每次都得到回應
 *   badmagic=N    N 個 magic 錯誤的連線要求                        預期:每個都以「參數不合理」被拒絕
 *   poison        說謊的回報:bw write 連線送 'L' 2^62 次、'E' 2^48−1 次與 2^60 ns 的 CPU;lat send 連線
 *                 真的 ping 3 次,'E' 卻說 2^48−1 次
 *                 預期:伺服器的 'A' 不超過約定的 1000 次;SEND 的 'A' 是它自己數的 3 次並說數字不符
 *   overstay      lat send,hello 說 --duration 2 卻一直 ping          預期:伺服器以 'X'(time)結束它
 *   overiters     lat send,hello 說 20 次卻 ping 到 200 次           預期:第 21 次時伺服器以 'X'(iters)結束
 *   perm-read 用自己管理狀態的 QP(不理會伺服器在 REP 裡給的 READ 數 0)才送得出 READ。
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
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define HELLO_MAGIC 0x4b425352u
#define PROTO_VERSION 3
#define BUF_LEN (1u << 20)
#define SMALL_BUF (64u << 10) /* hold / churn / badmagic 的連線:小緩衝區,一個行程能開上百條 */
#define QUICK_MS 3000 /* 「立刻」:伺服器的活動期限是 6 秒,閒置斷線不能冒充發現違規 */
#define HOLD_S 12     /* half-open 保持的秒數(伺服器的握手期限是 5 秒) */
#define MAX_HALF_OPEN 64
#define TRICKLE_S 8   /* trickle 持續的秒數 */

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
	uint32_t max_secs, max_iters;
} __attribute__((packed));

struct refusal {
	uint32_t magic;
	uint8_t reason, detail, pad[2];
	uint32_t limit, need, used;
} __attribute__((packed));

enum { TEST_DEMO, TEST_LAT, TEST_BW };
enum { OP_SEND, OP_WRITE, OP_READ };
enum { REFUSE_BUSY = 1, REFUSE_MEM, REFUSE_BAD, REFUSE_SERVER, REFUSE_PEER };
/* 伺服器主動結束工作階段('X' 控制訊息的 flag) */
enum { END_TIME = 1, END_ITERS, END_YIELD, END_IDLE, END_SHUTDOWN, END_KINDS };
static const char *const end_names[] = { "?", "time", "iters", "yield", "idle", "shutdown" };
enum { BAD_VERSION = 2, BAD_KIND, BAD_SIZE, BAD_DEPTH, BAD_COUNT, BAD_WINDOW, BAD_RETRY };

struct ctrl {
	uint8_t type, flag, pad[6];
	uint64_t a, b;
} __attribute__((packed));

struct session {
	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	struct ibv_qp *own; /* 自己管理狀態的 QP(見 open_session_ex 的 own_rd) */
	char *buf;
	size_t buf_len;
	uint32_t nrecv;
	struct welcome w;
	struct refusal rf;
	bool rejected;
	uint32_t recvs;	      /* 收到的 SEND 數(do_op 與 wait_recv 順便數) */
	uint32_t count[128]; /* 依種類(第一個位元組)分開數 */
	uint8_t end_flag;    /* 最後一則 'X' 的原因 */
	struct ctrl last_ack; /* 最後一則 'A' */
};

/* 連線要求裡的重試次數(IB CM:REQ 的數字是「對方」(伺服器)的 QP 要用的) */
static uint8_t req_retry = 6, req_rnr = 6;

static const char *server_ip, *bind_ip;
static int port = 7471;
static int hold_secs = 20;

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
	else if (s->own) /* 還沒交給 rdma_cm 就失敗了 */
		ibv_destroy_qp(s->own);
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

/*
 * 連線;hello 由呼叫者給。回傳 0 = ESTABLISHED,1 = 被拒絕,-1 = 其他錯誤。
 * half_open:送出連線要求就回傳 0(不等回應)。small:小緩衝區與小佇列(一次開很多條的探測)。
 * own_rd >= 0:QP 的狀態自己管理(不交給 rdma_cm),RTS 時同時未完成的 READ 數設成 own_rd,
 * 不理會伺服器在 REP 裡給的數字 —— 惡意的客戶端就能這麼做。
 */
static int open_session_ex(struct session *s, struct hello *h, size_t hlen, bool half_open, bool small, int own_rd)
{
	struct ibv_qp *own = NULL;
	struct sockaddr_in dst = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in src = { .sin_family = AF_INET };
	struct ibv_qp_init_attr qa = { .cap = { .max_send_wr = small ? 16 : 512, .max_recv_wr = small ? 8 : 64,
						.max_send_sge = 1, .max_recv_sge = 1 },
				       .qp_type = IBV_QPT_RC };
	struct rdma_conn_param cp = { .private_data = h, .private_data_len = (uint8_t)hlen,
				      .responder_resources = 1, .initiator_depth = 1, .retry_count = req_retry,
				      .rnr_retry_count = req_rnr };
	enum rdma_cm_event_type want[] = { RDMA_CM_EVENT_ADDR_RESOLVED, RDMA_CM_EVENT_ROUTE_RESOLVED };
	struct rdma_cm_event *ev;

	memset(s, 0, sizeof(*s));
	s->buf_len = small ? SMALL_BUF : BUF_LEN;
	s->nrecv = small ? 8 : 64;
	if (inet_pton(AF_INET, server_ip, &dst.sin_addr) != 1 ||
	    (bind_ip && inet_pton(AF_INET, bind_ip, &src.sin_addr) != 1))
		return -1;
	s->ec = rdma_create_event_channel();
	if (!s->ec || rdma_create_id(s->ec, &s->id, NULL, RDMA_PS_TCP) ||
	    rdma_resolve_addr(s->id, bind_ip ? (struct sockaddr *)&src : NULL, (struct sockaddr *)&dst, 2000))
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
	s->cq = s->pd ? ibv_create_cq(s->id->verbs, small ? 64 : 1024, NULL, NULL, 0) : NULL;
	s->buf = calloc(1, s->buf_len);
	if (!s->cq || !s->buf)
		return -1;
	/* 工具自己的記憶體:全部權限(它不是受測的對象) */
	s->mr = ibv_reg_mr(s->pd, s->buf, s->buf_len,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	qa.send_cq = qa.recv_cq = s->cq;
	if (!s->mr)
		return -1;
	if (own_rd >= 0) {
		struct ibv_qp_attr a = { .qp_state = IBV_QPS_INIT };
		int mask;

		own = s->own = ibv_create_qp(s->pd, &qa);
		if (!own || rdma_init_qp_attr(s->id, &a, &mask) || ibv_modify_qp(own, &a, mask))
			return -1;
		cp.qp_num = own->qp_num;
	} else if (rdma_create_qp(s->id, s->pd, &qa)) {
		return -1;
	}
	if (!h->win_rkey)
		h->win_rkey = htonl(s->mr->rkey);
	for (uint32_t i = 0; i < s->nrecv; i++) {
		struct ibv_sge sge = { .addr = (uintptr_t)s->buf + s->buf_len / 2 + i * 4096, .length = 4096,
				       .lkey = s->mr->lkey };
		struct ibv_recv_wr wr = { .wr_id = i, .sg_list = &sge, .num_sge = 1 }, *bad;

		if (ibv_post_recv(own ? own : s->id->qp, &wr, &bad))
			return -1;
	}
	if (rdma_connect(s->id, &cp))
		return -1;
	if (own) {
		/* 自己把 QP 帶到 RTR、RTS(rdma_cm 算好的屬性,只改掉 READ 數),再告訴 rdma_cm 已建立 */
		struct ibv_qp_attr a = { .qp_state = IBV_QPS_RTR };
		int mask, ok;

		ev = wait_event(s->ec, 10000);
		if (!ev)
			return -1;
		ok = ev->event == RDMA_CM_EVENT_CONNECT_RESPONSE && ev->param.conn.private_data_len >= sizeof(s->w);
		if (ok)
			memcpy(&s->w, ev->param.conn.private_data, sizeof(s->w));
		rdma_ack_cm_event(ev);
		if (!ok || rdma_init_qp_attr(s->id, &a, &mask) || ibv_modify_qp(own, &a, mask))
			return -1;
		a.qp_state = IBV_QPS_RTS;
		if (rdma_init_qp_attr(s->id, &a, &mask))
			return -1;
		a.max_rd_atomic = (uint8_t)own_rd;
		if (ibv_modify_qp(own, &a, mask | IBV_QP_MAX_QP_RD_ATOMIC) || rdma_establish(s->id))
			return -1;
		s->id->qp = own; /* 之後照常使用;rdma_destroy_qp 會拆掉它 */
		return 0;
	}
	if (half_open)
		return 0; /* 不讀事件:librdmacm 就不會送出 RTU,握手永遠停在一半 */
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

static int open_session(struct session *s, struct hello *h, size_t hlen)
{
	return open_session_ex(s, h, hlen, false, false, -1);
}

/* win_rkey 留 0:open_session 註冊完自己的 MR 後填入 */
static struct hello make_hello(uint8_t test, uint8_t op, uint32_t size, uint32_t depth)
{
	return (struct hello){ .magic = htonl(HELLO_MAGIC), .version = PROTO_VERSION, .test = test, .op = op,
			       .size = htonl(size), .depth = htonl(depth), .iters = htonl(1000),
			       .win_len = htonl(4096) };
}

/* 收到一則 SEND:記下種類('X' 記下原因、'A' 記下內容),把同一個 RECV 緩衝區 post 回去 */
static void note_recv(struct session *s, const struct ibv_wc *wc)
{
	struct ibv_sge sge = { .addr = (uintptr_t)s->buf + s->buf_len / 2 + wc->wr_id * 4096, .length = 4096,
			       .lkey = s->mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = wc->wr_id, .sg_list = &sge, .num_sge = 1 }, *bad;
	const unsigned char *p = (const unsigned char *)(uintptr_t)sge.addr;

	s->recvs++;
	s->count[wc->byte_len ? p[0] & 127 : 0]++;
	if (wc->byte_len >= sizeof(struct ctrl) && p[0] == 'X')
		s->end_flag = p[1];
	if (wc->byte_len >= sizeof(struct ctrl) && p[0] == 'A') {
		memcpy(&s->last_ack, p, sizeof(s->last_ack));
		s->last_ack.a = be64toh(s->last_ack.a);
		s->last_ack.b = be64toh(s->last_ack.b);
	}
	ibv_post_recv(s->id->qp, &wr, &bad);
}

/*
 * 等到總共收到 n 則第一個位元組是 type 的 SEND(其他的照收;do_op 等自己的完成時可能已經先收到了);
 * 回傳 0 = 收到,-1 = 逾時或錯誤
 */
static int wait_recv(struct session *s, char type, uint32_t n, int ms)
{
	for (uint64_t end = now_ms() + (uint64_t)ms; s->count[type & 127] < n;) {
		struct ibv_wc wc;
		int k = ibv_poll_cq(s->cq, 1, &wc);

		if (k < 0 || (k == 1 && wc.status != IBV_WC_SUCCESS) || now_ms() >= end)
			return -1;
		if (k == 1 && (wc.opcode & IBV_WC_RECV))
			note_recv(s, &wc);
		if (k == 0) {
			struct timespec ts = { 0, 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	return 0;
}

/*
 * 不檢查任何邊界:直接 post 一個 RDMA 操作(或 SEND、WRITE_WITH_IMM),等它的 CQE,
 * 回傳 wc.status(-1 = 逾時,-2 = post 失敗)
 */
static int do_op_imm(struct session *s, enum ibv_wr_opcode opc, uint64_t raddr, uint32_t rkey, uint32_t len,
		     uint32_t imm)
{
	struct ibv_sge sge = { .addr = (uintptr_t)s->buf, .length = len, .lkey = s->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = 1, .sg_list = &sge, .num_sge = len ? 1 : 0, .opcode = opc,
				  .send_flags = IBV_SEND_SIGNALED, .imm_data = htonl(imm) }, *bad;
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
		if (n == 1 && (wc.opcode & IBV_WC_RECV) && wc.status == IBV_WC_SUCCESS)
			note_recv(s, &wc);
		if (n == 1 && !(wc.opcode & IBV_WC_RECV) && wc.wr_id == 1)
			return wc.status;
		if (n == 0) {
			struct timespec ms = { 0, 1000000 };

			nanosleep(&ms, NULL);
		}
	}
	return -1;
}

static int do_op(struct session *s, enum ibv_wr_opcode opc, uint64_t raddr, uint32_t rkey, uint32_t len)
{
	return do_op_imm(s, opc, raddr, rkey, len, 0);
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

	/*
	 * 伺服器在 REP 裡給的 responder resources 決定我們的 QP 同時能有幾個 READ;WRITE 測試它給 0,
	 * 守規矩的客戶端的 READ 根本送不出去。惡意的客戶端自己管理 QP 的狀態,照樣設成 1 再送。
	 */
	r = open_session_ex(&s, &h, sizeof(h), false, false, opc == IBV_WR_RDMA_READ ? 1 : -1);
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
	/* perm-read:伺服器的 QP 在 WRITE 測試根本不接受 READ(responder resources 0),回的是 invalid request */
	return report(name, status == IBV_WC_REM_ACCESS_ERR ||
				    (!strcmp(name, "perm-read") && status == IBV_WC_REM_INV_REQ_ERR),
		      "%s", detail);
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

/*
 * 細水長流:lat send 連線,每 15 ms 送一則資料 SEND(伺服器每則都回一則),持續 TRICKLE_S 秒。
 * 這種「慢慢來」的對方不能讓伺服器一直忙碌輪詢(由 tests/rdma.sh 看伺服器的 CPU)。
 */
static int probe_trickle(void)
{
	struct session s;
	struct hello h = make_hello(TEST_LAT, OP_SEND, 64, 1);
	char detail[160];
	uint32_t sent = 0, bad = 0;

	if (open_session(&s, &h, sizeof(h))) {
		close_session(&s);
		return report("trickle", false, "%s", "無法連線");
	}
	memset(s.buf, 'D', 64);
	for (uint64_t end = now_ms() + TRICKLE_S * 1000; now_ms() < end; sent++) {
		struct timespec ts = { 0, 15000000 };

		if (do_op(&s, IBV_WR_SEND, 0, 0, 64) || wait_recv(&s, 'D', sent + 1, 5000))
			bad++;
		nanosleep(&ts, NULL);
	}
	snprintf(detail, sizeof(detail), "%u 則,每 15 ms 一則,失敗 %u", sent, bad);
	close_session(&s);
	return report("trickle", !bad, "%s", detail);
}

/* 說謊或壞掉的連線要求:預期被拒絕,原因碼 want_reason(細節 want_detail,0 = 不檢查) */
static int probe_reject(const char *name, struct hello h, uint8_t want_reason, uint8_t want_detail)
{
	struct session s;
	char detail[160];
	int r;

	if (!h.win_rkey)
		h.win_rkey = htonl(1);
	r = open_session(&s, &h, sizeof(h));
	snprintf(detail, sizeof(detail), "%s,原因碼 %u(細節 %u,需要 %u KiB,上限 %u KiB)",
		 r == 1 ? "被拒絕" : r == 0 ? "被接受了!" : "錯誤", s.rf.reason, s.rf.detail, ntohl(s.rf.need),
		 ntohl(s.rf.limit));
	bool ok = r == 1 && ntohl(s.rf.magic) == HELLO_MAGIC && s.rf.reason == want_reason &&
		  (!want_detail || s.rf.detail == want_detail);

	close_session(&s);
	return report(name, ok, "%s", detail);
}

/* hello 的某一欄說謊:從一個合理的 lat send hello 改掉一欄 */
static int probe_bad_field(const char *name)
{
	struct hello h = make_hello(TEST_LAT, OP_SEND, 64, 1);
	uint8_t want;

	if (!strcmp(name, "hello-version")) {
		h.version = 1;
		want = BAD_VERSION;
	} else if (!strcmp(name, "hello-kind")) {
		h.test = TEST_BW, h.op = OP_WRITE, h.use_imm = 1; /* use_imm 只屬於 WRITE 延遲測試 */
		want = BAD_KIND;
	} else if (!strcmp(name, "hello-size")) {
		h.size = 0;
		want = BAD_SIZE;
	} else if (!strcmp(name, "hello-depth")) {
		h.test = TEST_BW, h.depth = 0;
		want = BAD_DEPTH;
	} else if (!strcmp(name, "hello-count")) {
		h.iters = 0;
		want = BAD_COUNT;
	} else if (!strcmp(name, "hello-window")) {
		h.op = OP_WRITE, h.size = htonl(8192); /* 伺服器的回應寫不進 4096 位元組的視窗 */
		want = BAD_WINDOW;
	} else {
		fprintf(stderr, "錯誤:不認得的探測「%s」\n", name);
		exit(64);
	}
	return probe_reject(name, h, REFUSE_BAD, want);
}

/* 連線要求的傳輸重試或 RNR 重試是 7:伺服器的 QP 會照著用(Soft-RoCE 上是無限) */
static int probe_retry7(const char *name)
{
	uint8_t saved_retry = req_retry, saved_rnr = req_rnr;
	int r;

	if (!strcmp(name, "retry7"))
		req_retry = 7;
	else
		req_rnr = 7;
	r = probe_reject(name, make_hello(TEST_DEMO, OP_SEND, 64, 1), REFUSE_BAD, BAD_RETRY);
	req_retry = saved_retry;
	req_rnr = saved_rnr;
	return r;
}

/* 連上後做壞事,等伺服器把我們斷線;伺服器必須「立刻」(QUICK_MS 內)發現,閒置斷線不算 */
static int probe_misbehave(const char *name)
{
	struct session s;
	struct hello h = make_hello(TEST_LAT, OP_SEND, 64, 1);
	struct ctrl m = { .type = 'L', .a = htobe64(1) };
	char detail[200];
	int status = 0;
	bool quick = true;
	long dt;

	if (!strcmp(name, "idle")) {
		h.test = TEST_BW, h.op = OP_WRITE, h.depth = htonl(4);
		quick = false; /* 這一項要的正是閒置斷線 */
	} else if (!strcmp(name, "data-in-write")) {
		h.test = TEST_BW, h.op = OP_WRITE, h.depth = htonl(4);
	} else if (!strcmp(name, "imm-unasked")) {
		h.op = OP_WRITE; /* use_imm = 0 */
	}
	if (open_session(&s, &h, sizeof(h))) {
		close_session(&s);
		return report(name, false, "%s", "無法連線");
	}
	uint64_t t0 = now_ms();

	if (!strcmp(name, "garbage")) {
		memset(s.buf, 0, 24);
		s.buf[0] = 'Z';
		status = do_op(&s, IBV_WR_SEND, 0, 0, 24);
	} else if (!strcmp(name, "short-ctrl")) {
		memcpy(s.buf, &m, 8);
		status = do_op(&s, IBV_WR_SEND, 0, 0, 8);
	} else if (!strcmp(name, "zero-send")) {
		status = do_op(&s, IBV_WR_SEND, 0, 0, 0);
	} else if (!strcmp(name, "data-in-write")) {
		memset(s.buf, 'D', 64);
		status = do_op(&s, IBV_WR_SEND, 0, 0, 64);
	} else if (!strcmp(name, "imm-unasked")) {
		memset(s.buf, 0, 64); /* 序號位元組是 0:伺服器只能從 CQE 知道這個 WRITE */
		status = do_op_imm(&s, IBV_WR_RDMA_WRITE_WITH_IMM, 0, ntohl(s.w.win_rkey), 64, 1);
	} else if (!strcmp(name, "overlong")) {
		memset(s.buf, 'D', 4096);
		status = do_op(&s, IBV_WR_SEND, 0, 0, 4096);
	}
	dt = status == IBV_WC_SUCCESS ? wait_dropped(&s, 10000) : 0;
	if (dt > 0)
		dt = (long)(now_ms() - t0);
	snprintf(detail, sizeof(detail), "SEND -> %s;伺服器%s(%ld ms)", status ? st(status) : "成功",
		 dt < 0 ? "10 秒內沒有斷線" : "關閉了連線", dt);
	close_session(&s);
	/* overlong:對方的 RECV 放不下,我們的 SEND 以錯誤完成;其他:伺服器要主動斷線 */
	return report(name, dt >= 0 && (!quick || dt < QUICK_MS), "%s", detail);
}

/*
 * 主機突然消失:拆掉自己的 QP,但不中斷連線(沒有 DREQ)。伺服器送來的 keepalive 沒人回,
 * 傳輸重試用完後它要中斷連線 —— 在 6 秒的活動期限之前。
 */
static int probe_vanish(void)
{
	struct session s;
	struct hello h = make_hello(TEST_BW, OP_WRITE, 4032, 3);
	char detail[160];
	long dt;

	if (open_session(&s, &h, sizeof(h))) {
		close_session(&s);
		return report("vanish", false, "%s", "無法連線");
	}
	rdma_destroy_qp(s.id); /* QP 不見了,cm_id 還在:對方以為連線仍在 */
	dt = wait_dropped(&s, 15000);
	snprintf(detail, sizeof(detail), "拆掉自己的 QP 之後,伺服器%s(%ld ms)",
		 dt < 0 ? "15 秒內沒有中斷連線" : "中斷了連線", dt);
	close_session(&s);
	return report("vanish", dt >= 0 && dt < 2 * QUICK_MS, "%s", detail);
}

/* 別條連線的 rkey:cross = 同時存在的連線,stale = 已經結束的連線 */
static int probe_foreign(const char *name)
{
	struct hello h = make_hello(TEST_DEMO, OP_SEND, 64, 1);
	enum ibv_wr_opcode ops[] = { IBV_WR_RDMA_READ, IBV_WR_RDMA_WRITE };
	bool stale = !strcmp(name, "stale");
	struct session a, b;
	uint32_t rkey;
	char detail[200];
	int fails = 0;

	if (open_session(&a, &h, sizeof(h))) {
		close_session(&a);
		return report(name, false, "%s", "無法連線");
	}
	rkey = ntohl(a.w.win_rkey);
	if (stale)
		close_session(&a);
	for (int i = 0; i < (stale ? 1 : 2); i++) {
		struct hello hb = make_hello(TEST_DEMO, OP_SEND, 64, 1);
		int status;

		if (open_session(&b, &hb, sizeof(hb))) {
			close_session(&b);
			fails += report(name, false, "%s", "第二條連線無法建立");
			continue;
		}
		status = do_op(&b, ops[stale ? 1 : i], 0, rkey, 16);
		snprintf(detail, sizeof(detail), "%s 另一條%s連線的 rkey 0x%x(這條的是 0x%x)-> %s",
			 ops[stale ? 1 : i] == IBV_WR_RDMA_READ ? "READ" : "WRITE", stale ? "已結束的" : "仍在的",
			 rkey, ntohl(b.w.win_rkey), st(status));
		close_session(&b);
		fails += report(name, status == IBV_WC_REM_ACCESS_ERR, "%s", detail);
	}
	if (!stale)
		close_session(&a);
	return fails;
}

/* demo,但問候與視窗內容夾帶終端機控制碼;照協定走完(問候 → 回覆 → WRITE → 'E' → 'A') */
static int probe_escape(void)
{
	static const char evil[] = "\x1b[2J\x1b]0;pwned\x07\xc2\x9b" "31m\x7f\xe2\x80\xae" "ESC-TEST\x1b[0m";
	struct session s;
	struct hello h = make_hello(TEST_DEMO, OP_SEND, 64, 1);
	struct ctrl e = { .type = 'E', .a = htobe64(3) };
	char detail[200];
	int st1, st2, st3, ack = -1;

	if (open_session(&s, &h, sizeof(h))) {
		close_session(&s);
		return report("escape", false, "%s", "無法連線");
	}
	s.buf[0] = 'T';
	memcpy(s.buf + 1, evil, sizeof(evil));
	st1 = do_op(&s, IBV_WR_SEND, 0, 0, (uint32_t)sizeof(evil) + 1);
	if (!st1)
		wait_recv(&s, 'T', 1, 10000); /* 伺服器的回覆 */
	memcpy(s.buf, evil, sizeof(evil));
	st2 = do_op(&s, IBV_WR_RDMA_WRITE, 0, ntohl(s.w.win_rkey), (uint32_t)sizeof(evil));
	memcpy(s.buf, &e, sizeof(e));
	st3 = do_op(&s, IBV_WR_SEND, 0, 0, (uint32_t)sizeof(e));
	if (!st1 && !st2 && !st3)
		ack = wait_recv(&s, 'A', 1, 10000) == 0;
	snprintf(detail, sizeof(detail), "問候 SEND -> %s,WRITE -> %s,結束 SEND -> %s,伺服器%s確認", st(st1),
		 st(st2), st(st3), ack == 1 ? "" : "沒有");
	close_session(&s);
	return report("escape", ack == 1, "%s", detail);
}

/*
 * 半開的連線:送出 n 個連線要求,等伺服器的回應(REP)到達 —— 只 poll event channel,不讀事件,
 * 所以 librdmacm 不會送出 RTU,握手永遠停在一半 —— 保持 HOLD_S 秒再全部關掉。
 */
static int probe_half_open(const char *name, int n)
{
	static struct session s[MAX_HALF_OPEN];
	char detail[160];
	int answered = 0, opened = 0;

	if (n < 1 || n > MAX_HALF_OPEN) {
		fprintf(stderr, "錯誤:half-open 的數量要在 1 到 %d 之間\n", MAX_HALF_OPEN);
		exit(64);
	}
	for (int i = 0; i < n; i++) {
		struct hello h = make_hello(TEST_LAT, OP_SEND, 64, 1);

		opened += open_session_ex(&s[i], &h, sizeof(h), true, false, -1) == 0;
	}
	for (uint64_t end = now_ms() + 10000; answered < opened && now_ms() < end;) {
		answered = 0;
		for (int i = 0; i < n; i++) {
			struct pollfd p = { .fd = s[i].ec ? s[i].ec->fd : -1, .events = POLLIN };

			answered += poll(&p, 1, 0) > 0;
		}
		struct timespec ts = { 0, 10000000 };

		nanosleep(&ts, NULL);
	}
	printf("HALF_OPEN %d 個連線要求都得到回應,保持 %d 秒不完成握手\n", answered, HOLD_S);
	fflush(stdout);
	sleep(HOLD_S);
	for (int i = 0; i < n; i++)
		close_session(&s[i]);
	snprintf(detail, sizeof(detail), "送出 %d 個連線要求,%d 個得到回應", n, answered);
	return report(name, opened == n && answered == n, "%s", detail);
}

/* ---- 一次開很多條、洗版、說謊的回報、超時 --------------------------------------------- */

/* 不等完成就 post 一個要求 CQE 的操作(wr_id 3;來源是 buf[off…]) */
static int post_nowait(struct session *s, enum ibv_wr_opcode opc, uint32_t off, uint32_t len, uint64_t raddr)
{
	struct ibv_sge sge = { .addr = (uintptr_t)s->buf + off, .length = len, .lkey = s->mr->lkey };
	struct ibv_send_wr wr = { .wr_id = 3, .sg_list = &sge, .num_sge = 1, .opcode = opc,
				  .send_flags = IBV_SEND_SIGNALED }, *bad;

	wr.wr.rdma.remote_addr = raddr;
	wr.wr.rdma.rkey = ntohl(s->w.win_rkey);
	return ibv_post_send(s->id->qp, &wr, &bad);
}

/* 控制訊息放在 buf[256…](資料 ping 在 buf[0…]) */
static int post_ctrl_nowait(struct session *s, char type, uint64_t a, uint64_t b)
{
	struct ctrl m = { .type = (uint8_t)type, .a = htobe64(a), .b = htobe64(b) };

	memcpy(s->buf + 256, &m, sizeof(m));
	return post_nowait(s, IBV_WR_SEND, 256, sizeof(m), 0);
}

/* 處理已到的 CQE 與 rdma_cm 事件;連線被關掉(CQE 錯誤或 DISCONNECTED)回傳 -1 */
static int pump(struct session *s)
{
	struct ibv_wc wc[8];
	struct rdma_cm_event *ev;
	int n;

	while ((n = ibv_poll_cq(s->cq, 8, wc)) > 0)
		for (int i = 0; i < n; i++) {
			if (wc[i].status != IBV_WC_SUCCESS)
				return -1;
			if (wc[i].opcode & IBV_WC_RECV)
				note_recv(s, &wc[i]);
		}
	if (n < 0)
		return -1;
	while ((ev = wait_event(s->ec, 0))) {
		bool gone = ev->event == RDMA_CM_EVENT_DISCONNECTED;

		rdma_ack_cm_event(ev);
		if (gone)
			return -1;
	}
	return 0;
}

enum hold_mode { HOLD_PING, HOLD_ALIVE, HOLD_WRITE, HOLD_BWSEND };

struct holder {
	struct session s;
	bool open;
	uint64_t ops;
};

/* 開一條要「佔住」的連線;被拒絕時把拒絕內容留在 *rf */
static int hold_open(struct holder *hd, enum hold_mode m, uint32_t size, uint32_t depth, struct refusal *rf)
{
	struct hello h = m == HOLD_WRITE    ? make_hello(TEST_BW, OP_WRITE, size, depth)
			 : m == HOLD_BWSEND ? make_hello(TEST_BW, OP_SEND, 64, depth)
					    : make_hello(TEST_LAT, OP_SEND, 64, 1);
	int r;

	h.iters = htonl(100000000);
	r = open_session_ex(&hd->s, &h, sizeof(h), false, true, -1);
	*rf = hd->s.rf;
	hd->open = r == 0;
	hd->ops = 0;
	if (r)
		close_session(&hd->s);
	else
		memset(hd->s.buf, 'D', 64);
	return r;
}

/* 每秒一次讓這條連線「還在做事」:ping = 真的 SEND(伺服器回覆);alive = 只送 'L'(沒有進展);
 * write = 真的 64 位元組 RDMA WRITE 再用 'L' 回報次數(單邊:伺服器只能看回報);bwsend = 一則資料 SEND */
static int hold_tick(struct holder *hd, enum hold_mode m, uint32_t size)
{
	switch (m) {
	case HOLD_PING:
	case HOLD_BWSEND:
		return post_nowait(&hd->s, IBV_WR_SEND, 0, 64, 0);
	case HOLD_ALIVE:
		return post_ctrl_nowait(&hd->s, 'L', 0, 0);
	case HOLD_WRITE:
		hd->ops++;
		return post_nowait(&hd->s, IBV_WR_RDMA_WRITE, 512, 64, 0) ||
		       post_ctrl_nowait(&hd->s, 'L', hd->ops, hd->ops * size);
	}
	return -1;
}

/*
 * hold=N[:ping|alive|write|bwsend][:大小][:d深度][:p秒][:refill]:依序開到 N 條(遇到第一次拒絕就停;沒有回應的
 * 同一條最多試 3 次),印 HOLD_READY,然後佔住 --hold-secs 秒(每條每 p 秒做一次 hold_tick,預設 1);
 * refill:被關掉的連線每秒再試著開回來。
 * 最後印 HOLD_END(被伺服器以哪種原因結束各幾條)。
 */
static int probe_hold(const char *arg)
{
	static struct holder hd[1024];
	enum hold_mode m = HOLD_PING;
	uint32_t n = (uint32_t)atoi(arg + 5), size = 65536, depth = 1, period = 1, opened = 0, reopened = 0, refused = 0;
	uint32_t other = 0, errors = 0;
	uint32_t ends[END_KINDS] = { 0 };
	bool refill = false;
	struct refusal rf = { 0 }, last = { 0 };
	char detail[200];

	for (const char *p = strchr(arg, ':'); p; p = strchr(p + 1, ':')) {
		if (!strncmp(p, ":ping", 5))
			m = HOLD_PING;
		else if (!strncmp(p, ":alive", 6))
			m = HOLD_ALIVE;
		else if (!strncmp(p, ":write", 6))
			m = HOLD_WRITE;
		else if (!strncmp(p, ":bwsend", 7))
			m = HOLD_BWSEND;
		else if (!strncmp(p, ":refill", 7))
			refill = true;
		else if (p[1] == 'd')
			depth = (uint32_t)atoi(p + 2);
		else if (p[1] == 'p')
			period = (uint32_t)atoi(p + 2);
		else if (p[1] >= '0' && p[1] <= '9')
			size = (uint32_t)atoi(p + 1);
	}
	if (n < 1 || n > 1024 || !size || !depth || !period) {
		fprintf(stderr, "錯誤:hold 的數量要在 1 到 1024 之間\n");
		exit(64);
	}
	for (uint32_t i = 0, tries = 0; i < n; i++) {
		int r = hold_open(&hd[i], m, size, depth, &rf);

		if (r == 0) {
			opened++;
			tries = 0;
			continue;
		}
		if (r < 0 && ++tries < 3) { /* 沒有回應(VM 之間的 UDP 網路可能掉封包):同一條再試,被拒絕就不試 */
			errors++;
			i--;
			continue;
		}
		refused += r > 0;
		other += r < 0;
		last = rf;
		break;
	}
	printf("HOLD_READY opened=%u refused=%u reason=%u detail=%u errors=%u\n", opened, refused, last.reason,
	       last.detail, errors);
	fflush(stdout);
	uint64_t t0 = now_ms(), next = t0;

	while (now_ms() - t0 < (uint64_t)hold_secs * 1000) {
		bool tick = now_ms() >= next, blocked = false;

		if (tick)
			next += 1000;
		bool act = tick && ((now_ms() - t0) / 1000) % period == 0;
		for (uint32_t i = 0; i < n; i++) {
			if (!hd[i].open) {
				if (!refill || !tick || blocked)
					continue;
				int r = hold_open(&hd[i], m, size, depth, &rf);

				reopened += r == 0;
				refused += r > 0;
				blocked = r != 0;
				continue;
			}
			if (pump(&hd[i].s) || (act && hold_tick(&hd[i], m, size))) {
				uint8_t e = hd[i].s.end_flag;

				if (e && e < END_KINDS)
					ends[e]++;
				else
					other++;
				close_session(&hd[i].s);
				hd[i].open = false;
			}
		}
		struct timespec ts = { 0, 20000000 };

		nanosleep(&ts, NULL);
	}
	uint32_t still = 0;

	for (uint32_t i = 0; i < n; i++) {
		if (hd[i].open) {
			still++;
			pump(&hd[i].s);
			close_session(&hd[i].s);
			hd[i].open = false;
		}
	}
	printf("HOLD_END opened=%u reopened=%u refused=%u still=%u", opened, reopened, refused, still);
	for (int e = 1; e < END_KINDS; e++)
		printf(" %s=%u", end_names[e], ends[e]);
	printf(" other=%u\n", other);
	snprintf(detail, sizeof(detail), "開了 %u 條(之後再開 %u 條),被拒絕 %u 次", opened, reopened, refused);
	return report("hold", opened > 0, "%s", detail);
}

/* churn=N:N 次「連上就斷」(demo 連線,不做任何事);每次都要得到回應(接受或拒絕) */
static int probe_churn(const char *arg)
{
	int n = atoi(arg + 6), ok = 0, refused = 0, bad = 0;
	uint64_t t0 = now_ms();
	char detail[160];

	for (int i = 0; i < n; i++) {
		struct session s;
		struct hello h = make_hello(TEST_DEMO, OP_SEND, 64, 1);
		int r = open_session_ex(&s, &h, sizeof(h), false, true, -1);

		ok += r == 0;
		refused += r > 0;
		bad += r < 0;
		close_session(&s);
	}
	printf("CHURN n=%d ok=%d refused=%d failed=%d ms=%llu\n", n, ok, refused, bad,
	       (unsigned long long)(now_ms() - t0));
	snprintf(detail, sizeof(detail), "%d 次:連上 %d、被拒絕 %d、失敗 %d", n, ok, refused, bad);
	return report("churn", n > 0 && !bad && ok > 0, "%s", detail);
}

/* badmagic=N:N 個 magic 錯誤的連線要求;每個都要被拒絕 */
static int probe_badmagic(const char *arg)
{
	int n = atoi(arg + 9), rejected = 0;
	uint64_t t0 = now_ms();
	char detail[160];

	for (int i = 0; i < n; i++) {
		struct session s;
		struct hello h = make_hello(TEST_BW, OP_SEND, 64, 4);

		h.magic = htonl(0x12345678);
		h.win_rkey = htonl(1);
		rejected += open_session_ex(&s, &h, sizeof(h), false, true, -1) == 1 && s.rf.reason == REFUSE_BAD;
		close_session(&s);
	}
	printf("BADMAGIC n=%d rejected=%d ms=%llu\n", n, rejected, (unsigned long long)(now_ms() - t0));
	snprintf(detail, sizeof(detail), "%d 個,以「參數不合理」被拒絕 %d 個", n, rejected);
	return report("badmagic", n > 0 && rejected == n, "%s", detail);
}

/* 等 'A'(或 'X'、連線中斷),最多 ms */
static int wait_ack(struct session *s, int ms)
{
	for (uint64_t end = now_ms() + (uint64_t)ms; now_ms() < end;) {
		int gone = pump(s); /* 'A' 與中斷連線可能一起到:先看收到了什麼 */

		if (s->count['A'])
			return 0;
		if (gone || s->count['X'])
			return -1;
		struct timespec ts = { 0, 1000000 };

		nanosleep(&ts, NULL);
	}
	return -1;
}

/*
 * poison:說謊的回報。bw write 連線(4096 位元組,深度 4,次數 1000)送 'L' 說做了 2^62 次、
 * 'E' 說 2^48−1 次與 2^60 ns 的 CPU;lat send 連線真的 ping 3 次,'E' 卻說 2^48−1 次。
 * 伺服器的統計與 CLIENT 行不能把這些當成自己的數字(由 tests/rdma.sh 檢查);這裡印出伺服器的 'A'。
 */
static int probe_poison(void)
{
	struct session s;
	struct hello h = make_hello(TEST_BW, OP_WRITE, 4096, 4);
	char detail[200];
	int r1 = -1, r2 = -1, pings = 0;
	uint64_t a1 = 0, a2 = 0, f2 = 1;

	if (!open_session(&s, &h, sizeof(h))) {
		post_ctrl_nowait(&s, 'L', 1ull << 62, 1ull << 62);
		sleep(2); /* 伺服器每秒的統計要看到這一則 */
		post_ctrl_nowait(&s, 'E', (1ull << 48) - 1, 1ull << 60);
		r1 = wait_ack(&s, 10000);
		a1 = s.last_ack.b;
	}
	close_session(&s);
	h = make_hello(TEST_LAT, OP_SEND, 64, 1);
	if (!open_session(&s, &h, sizeof(h))) {
		memset(s.buf, 'D', 64);
		for (; pings < 3; pings++)
			if (do_op(&s, IBV_WR_SEND, 0, 0, 64) || wait_recv(&s, 'D', (uint32_t)pings + 1, 5000))
				break;
		post_ctrl_nowait(&s, 'E', (1ull << 48) - 1, 1000);
		r2 = wait_ack(&s, 10000);
		a2 = s.last_ack.b;
		f2 = s.last_ack.flag;
	}
	close_session(&s);
	printf("POISON write_ack_ops=%llu send_ack_ops=%llu send_ack_ok=%llu\n", (unsigned long long)a1,
	       (unsigned long long)a2, (unsigned long long)f2);
	snprintf(detail, sizeof(detail), "WRITE:伺服器確認 %llu 次(回報 2^48−1);SEND:ping %d 次,伺服器確認 %llu 次、%s",
		 (unsigned long long)a1, pings, (unsigned long long)a2, f2 ? "說數字相符!" : "說數字不符");
	return report("poison", !r1 && !r2 && pings == 3 && a1 <= 1000 && a2 == 3 && !f2, "%s", detail);
}

/*
 * overstay:lat send 連線,hello 說 --duration 2,卻一直 ping 下去;overiters:hello 說 20 次,卻 ping 到 200 次。
 * 預期:伺服器以 'X'(原因 time / iters)結束它。印出結束前得到幾個回覆、花了多久。
 */
static int probe_overstay(const char *name)
{
	struct session s;
	struct hello h = make_hello(TEST_LAT, OP_SEND, 64, 1);
	bool iters = !strcmp(name, "overiters");
	/*
	 * overstay 一直 ping 到伺服器送 'X' 或 30 秒:不設回覆數的上限。曾經是 10 萬個:VM 快的時候
	 * 3.7 秒就收滿、停下來,再等 3 秒仍早於伺服器的 7 秒(2 + 寬限 5)上限,檢查就失敗了
	 */
	uint32_t replies = 0, limit = iters ? 200 : UINT32_MAX;
	char detail[200];
	uint64_t t0;

	if (iters) {
		h.iters = htonl(20);
	} else {
		h.iters = 0;
		h.duration = htonl(2);
	}
	if (open_session(&s, &h, sizeof(h))) {
		close_session(&s);
		return report(name, false, "%s", "無法連線");
	}
	memset(s.buf, 'D', 64);
	t0 = now_ms();
	while (replies < limit && !s.count['X'] && now_ms() - t0 < 30000) {
		if (post_nowait(&s, IBV_WR_SEND, 0, 64, 0))
			break;
		uint64_t end = now_ms() + 5000;

		while (s.count['D'] <= replies && !s.count['X'] && now_ms() < end && !pump(&s))
			;
		if (s.count['D'] <= replies)
			break;
		replies++;
	}
	for (uint64_t end = now_ms() + 3000; !s.count['X'] && now_ms() < end && !pump(&s);)
		;
	uint64_t dt = now_ms() - t0;
	uint8_t e = s.end_flag;

	close_session(&s);
	snprintf(detail, sizeof(detail), "得到 %u 個回覆,%llu ms 後伺服器%s", replies, (unsigned long long)dt,
		 e ? end_names[e < END_KINDS ? e : 0] : "沒有送 'X'");
	printf("OVERSTAY %s replies=%u ms=%llu end=%s\n", name, replies, (unsigned long long)dt,
	       e < END_KINDS ? end_names[e] : "?");
	return report(name, iters ? e == END_ITERS && replies == 20 : e == END_TIME && dt < 15000, "%s", detail);
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
	/* 選項:--port N、--retry N / --rnr N(連線要求裡給伺服器 QP 的重試次數,預設 6) */
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		int v = atoi(argv[i + 1]);

		if (!strcmp(argv[i], "--port"))
			port = v;
		else if (!strcmp(argv[i], "--bind"))
			bind_ip = argv[i + 1];
		else if (!strcmp(argv[i], "--hold-secs") && v > 0)
			hold_secs = v;
		else if (!strcmp(argv[i], "--retry") && v >= 0 && v <= 7)
			req_retry = (uint8_t)v;
		else if (!strcmp(argv[i], "--rnr") && v >= 0 && v <= 7)
			req_rnr = (uint8_t)v;
		else
			break;
	}
	if (i >= argc || argv[i][0] == '-') {
		fprintf(stderr, "用法:rdma_hostile 伺服器IP [--port N] [--bind 位址] [--hold-secs S] [--retry N] [--rnr N] 探測…\n");
		return 64;
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
		} else if (!strcmp(p, "lie"))
			fails += probe_reject(p, make_hello(TEST_BW, OP_SEND, 64u << 20, 1024), 2, 0);
		else if (!strcmp(p, "bad-hello")) {
			struct hello h = make_hello(TEST_BW, OP_SEND, 64, 4);

			h.magic = htonl(0x12345678);
			fails += probe_reject(p, h, REFUSE_BAD, 1);
		} else if (!strncmp(p, "hello-", 6))
			fails += probe_bad_field(p);
		else if (!strcmp(p, "retry7") || !strcmp(p, "rnr7"))
			fails += probe_retry7(p);
		else if (!strcmp(p, "garbage") || !strcmp(p, "overlong") || !strcmp(p, "idle") ||
			 !strcmp(p, "short-ctrl") || !strcmp(p, "zero-send") || !strcmp(p, "data-in-write") ||
			 !strcmp(p, "imm-unasked"))
			fails += probe_misbehave(p);
		else if (!strcmp(p, "flood"))
			fails += probe_flood();
		else if (!strcmp(p, "vanish"))
			fails += probe_vanish();
		else if (!strcmp(p, "cross") || !strcmp(p, "stale"))
			fails += probe_foreign(p);
		else if (!strcmp(p, "trickle"))
			fails += probe_trickle();
		else if (!strcmp(p, "escape"))
			fails += probe_escape();
		else if (!strncmp(p, "half-open=", 10))
			fails += probe_half_open(p, atoi(p + 10));
		else if (!strncmp(p, "hold=", 5))
			fails += probe_hold(p);
		else if (!strncmp(p, "churn=", 6))
			fails += probe_churn(p);
		else if (!strncmp(p, "badmagic=", 9))
			fails += probe_badmagic(p);
		else if (!strcmp(p, "poison"))
			fails += probe_poison();
		else if (!strcmp(p, "overstay") || !strcmp(p, "overiters"))
			fails += probe_overstay(p);
		else {
			fprintf(stderr, "錯誤:不認得的探測「%s」\n", p);
			return 64;
		}
	}
	return fails ? 1 : 0;
}
