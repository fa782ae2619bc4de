// SPDX-License-Identifier: MIT
/*
 * io_uring_async.c — 以 io_uring 實作的 TCP echo 伺服器
 *
 * 示範內容:
 *   整個伺服器只有一個事件迴圈、一個 io_uring,幾乎不做一般的系統呼叫:
 *   - multishot accept:一個 SQE 持續接受新連線
 *   - multishot recv + provided buffer ring:一個 SQE 持續收資料,核心從共用的
 *     buffer ring 挑緩衝區;應用程式不必為每條連線預先配置接收緩衝區
 *   - IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN:完成事件只在我們等待時處理,
 *     省下跨 CPU 的中斷與 task work(不支援時退回 COOP_TASKRUN,再退回一般模式)
 *   - registered ring fd、批次送出(多個 recv 結果合併成一個 sendmsg)
 *   - 選用:--sqpoll(核心執行緒輪詢 SQ)、--zerocopy(SENDMSG_ZC 與其通知 CQE)、
 *     --fixed-files(direct descriptor,accept 直接放進固定檔案表)
 *   啟動時以 io_uring_get_probe 檢查核心,缺 multishot 或 buffer ring 時退回單次
 *   accept/recv 與 IORING_OP_PROVIDE_BUFFERS(--legacy 可強制使用,方便比較)。
 *
 * 正確性規則(壓力下也成立):
 *   - 每條連線同時最多一個 send;部分送出時從斷點繼續,保持順序
 *   - 緩衝區只在使用它的 send 完全完成後(zero-copy 則在通知 CQE 後)才還給 ring
 *   - 背壓:連線待送資料超過 --max-pending 個緩衝區就停止讀取(取消 recv),
 *     送出降到一半以下才恢復;記憶體上限就是 buffer ring 的大小
 *   - ENOBUFS:連線暫停,等有空的緩衝區時才重新 arm(只 arm 有緩衝區可用的數量)
 *   - 半關閉:對方 shutdown(SHUT_WR) 後,把剩下的資料送完再關閉
 *   - socket 只在最後一個 CQE 回來後才關閉
 *
 * 需求:Linux 6.0 以上(multishot recv、SEND_ZC;較舊核心自動退回)、liburing 2.3 以上。
 *
 * 用法:
 *   ./io_uring_async              # 在 0.0.0.0:12345 監聽
 *   ./io_uring_async 8080
 *   ./io_uring_async --help
 * 試試看:
 *   echo "測試訊息" | nc -q1 localhost 12345
 *
 * 統計(有流量時每秒一行):連線數、累計接受數、每秒訊息數(recv 完成次數)、
 * 每秒 MB(收到的位元組)。收到 SIGINT/SIGTERM 時停止接受、關閉所有連線、
 * 印出總結與一行機器可讀的 SUMMARY,然後以 0 結束。
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31) /* 6.2 加入;liburing 2.3 標頭還沒有 */
#endif

#define EXIT_USAGE 64
#define BGID 1
#define SEND_IOV_MAX 32 /* 一個 sendmsg 最多合併的緩衝區數 */
#define LISTEN_BACKLOG 4096

/* ---- 設定與狀態 ------------------------------------------------------------ */

struct config {
	const char *bind_addr;
	int port;
	unsigned queue_depth;
	unsigned nbufs;
	unsigned buf_size;
	unsigned max_conns;
	unsigned max_pending; /* 每條連線待送緩衝區上限(背壓) */
	bool sqpoll;
	bool zerocopy;
	bool fixed_files;
	bool legacy; /* 強制單次 accept/recv + PROVIDE_BUFFERS */
	bool quiet;
};

/* 一段待送資料:緩衝區 bid 內 [off, off+len) */
struct pending {
	uint16_t bid;
	uint32_t off;
	uint32_t len;
};

struct conn {
	int fd;		  /* socket fd,或 --fixed-files 時的固定檔案索引 */
	unsigned inflight; /* 還沒收到最後一個 CQE 的 SQE 數 */
	bool recv_armed;
	bool recv_cancelling;
	bool send_busy;
	bool peer_eof;	/* 對方已關閉寫入端 */
	bool closing;
	bool shut;	/* 已送出 shutdown */
	bool close_sent;
	bool parked;	/* 因 ENOBUFS 或背壓暫停讀取 */
	bool throttled; /* 背壓中 */
	bool flush_listed;
	struct pending *q; /* 待送佇列(環狀,容量 qcap) */
	unsigned qhead, qlen, qcap;
	size_t send_len;
	int zc_res; /* zero-copy:結果 CQE 的值,等通知 CQE 後才處理 */
	struct iovec iov[SEND_IOV_MAX];
	struct msghdr msg; /* msg_iov 固定指向 iov,每次只改 msg_iovlen */
	struct conn *next_flush;
	struct conn *next_parked;
};

struct stats {
	uint64_t accepted, rejected, closed;
	uint64_t msgs, bytes_in, bytes_out;
	uint64_t errors, enobufs, partial_sends, throttles, zc_copied;
};

struct features {
	const char *taskrun; /* 實際使用的 setup 旗標 */
	bool ring_fd_registered;
	bool multishot_accept;
	bool multishot_recv;
	bool buf_ring;
	bool zerocopy;
	bool fixed_files;
	bool sqpoll;
};

struct ctx {
	struct config cfg;
	struct io_uring ring;
	struct features feat;
	int listen_fd;
	bool accept_armed;
	bool accept_rearm; /* 暫時性錯誤(EMFILE)後,下一個時間點再 arm */
	bool stopping;
	unsigned char *bufs; /* nbufs × buf_size */
	struct io_uring_buf_ring *br;
	size_t br_size;
	unsigned br_pending; /* 已 add、尚未 advance 的緩衝區數 */
	unsigned bufs_held;  /* 目前在應用程式手上的緩衝區數 */
	struct conn **conns; /* 以 fd 或固定檔案索引為索引 */
	unsigned nconn_slots;
	unsigned active;
	struct conn *flush_list;
	struct conn *parked_head, *parked_tail;
	struct stats st, last;
	struct timespec start, last_tick;
	time_t last_emfile_msg;
};

static volatile sig_atomic_t stop_flag;

/* user_data:高 8 位元是種類,低 32 位元是連線索引 */
enum { UD_ACCEPT = 1, UD_RECV, UD_SEND, UD_SHUTDOWN, UD_CLOSE, UD_CANCEL, UD_PROVIDE, UD_ACANCEL };

static inline uint64_t ud(unsigned type, unsigned idx)
{
	return ((uint64_t)type << 56) | idx;
}

/* ---- 選項 -------------------------------------------------------------------- */

struct opt_help {
	struct option opt;
	const char *arg;
	const char *help;
};

static const struct opt_help options[] = {
	{ { "bind", required_argument, NULL, 'a' }, "位址", "監聽的 IPv4 位址(預設 0.0.0.0)" },
	{ { "queue-depth", required_argument, NULL, 'q' }, "N", "SQ 深度,2 的次方,8..32768(預設 1024)" },
	{ { "buffers", required_argument, NULL, 'n' }, "N", "buffer ring 的緩衝區數,2 的次方,16..32768(預設 4096)" },
	{ { "buffer-size", required_argument, NULL, 's' }, "位元組", "每個緩衝區大小,64..1048576(預設 4096)" },
	{ { "max-conns", required_argument, NULL, 'c' }, "N", "同時連線上限,超過的新連線會被關閉(預設 16384)" },
	{ { "max-pending", required_argument, NULL, 'm' }, "N", "每條連線待送緩衝區上限,超過就暫停讀取(預設 16)" },
	{ { "sqpoll", no_argument, NULL, 'P' }, NULL, "使用 SQPOLL 核心執行緒輪詢提交佇列" },
	{ { "zerocopy", no_argument, NULL, 'z' }, NULL, "以 SENDMSG_ZC 零複製送出(核心支援時)" },
	{ { "fixed-files", no_argument, NULL, 'f' }, NULL, "使用 direct descriptor(固定檔案表)" },
	{ { "legacy", no_argument, NULL, 'L' }, NULL, "強制單次 accept/recv 與 PROVIDE_BUFFERS(模擬舊核心)" },
	{ { "quiet", no_argument, NULL, 'Q' }, NULL, "不印每秒統計" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "顯示這份說明" },
	{ { NULL, 0, NULL, 0 }, NULL, NULL },
};

static void usage(const char *prog)
{
	printf("用法:%s [選項] [埠]\n", prog);
	printf("io_uring TCP echo 伺服器:把收到的每個位元組原樣送回。埠預設 12345。\n\n選項:\n");
	for (const struct opt_help *o = options; o->opt.name; o++) {
		char left[64];
		snprintf(left, sizeof(left), "--%s%s%s", o->opt.name, o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-24s %s\n", left, o->help);
	}
	printf("\n試試看:echo \"測試訊息\" | nc -q1 localhost 12345\n");
}

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "錯誤:");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "(--help 看說明)\n");
	exit(EXIT_USAGE);
}

static unsigned long parse_num(const char *s, const char *name, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "錯誤:%s 必須是 %lu 到 %lu 之間的整數,得到「%s」(--help 看說明)\n", name, min,
			max, s);
		exit(EXIT_USAGE);
	}
	return v;
}

static bool is_pow2(unsigned long v)
{
	return v && !(v & (v - 1));
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	struct option longopts[sizeof(options) / sizeof(options[0])];
	char shortopts[64] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		longopts[i] = options[i].opt;
		if (options[i].opt.name) {
			shortopts[n++] = (char)options[i].opt.val;
			if (options[i].opt.has_arg == required_argument)
				shortopts[n++] = ':';
		}
	}
	shortopts[n] = '\0';

	*cfg = (struct config){
		.bind_addr = "0.0.0.0",
		.port = 12345,
		.queue_depth = 1024,
		.nbufs = 4096,
		.buf_size = 4096,
		.max_conns = 16384,
		.max_pending = 16,
	};

	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shortopts, longopts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'a': {
			struct in_addr a;
			if (inet_pton(AF_INET, optarg, &a) != 1)
				usage_error("--bind 需要 IPv4 位址,得到「%s」", optarg);
			cfg->bind_addr = optarg;
			break;
		}
		case 'q':
			cfg->queue_depth = parse_num(optarg, "--queue-depth", 8, 32768);
			if (!is_pow2(cfg->queue_depth))
				usage_error("--queue-depth 必須是 2 的次方,得到「%s」", optarg);
			break;
		case 'n':
			cfg->nbufs = parse_num(optarg, "--buffers", 16, 32768);
			if (!is_pow2(cfg->nbufs))
				usage_error("--buffers 必須是 2 的次方,得到「%s」", optarg);
			break;
		case 's':
			cfg->buf_size = parse_num(optarg, "--buffer-size", 64, 1 << 20);
			break;
		case 'c':
			cfg->max_conns = parse_num(optarg, "--max-conns", 1, 1 << 20);
			break;
		case 'm':
			cfg->max_pending = parse_num(optarg, "--max-pending", 1, 4096);
			break;
		case 'P':
			cfg->sqpoll = true;
			break;
		case 'z':
			cfg->zerocopy = true;
			break;
		case 'f':
			cfg->fixed_files = true;
			break;
		case 'L':
			cfg->legacy = true;
			break;
		case 'Q':
			cfg->quiet = true;
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		case ':':
			usage_error("選項 %s 需要參數", argv[optind - 1]);
			break;
		default:
			usage_error("不認得的選項「%s」", argv[optind - 1]);
		}
	}
	if (optind < argc)
		cfg->port = parse_num(argv[optind++], "埠", 1, 65535);
	if (optind < argc)
		usage_error("多餘的參數「%s」", argv[optind]);
	if ((unsigned long)cfg->nbufs * cfg->buf_size > (1ul << 31))
		usage_error("%s", "--buffers × --buffer-size 不能超過 2 GiB");
}

/* ---- 工具 -------------------------------------------------------------------- */

static double now_sec(const struct timespec *since)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - since->tv_sec) + (double)(t.tv_nsec - since->tv_nsec) / 1e9;
}

/* 千分位:123456789 -> 123,456,789 */
static const char *commas(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	size_t o = 0;

	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static struct io_uring_sqe *get_sqe(struct ctx *c)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring);

	/* SQ 滿了:先送出現有的,再拿一個 */
	while (!sqe) {
		io_uring_submit(&c->ring);
		sqe = io_uring_get_sqe(&c->ring);
	}
	return sqe;
}

static void set_fd(struct ctx *c, struct io_uring_sqe *sqe)
{
	if (c->feat.fixed_files)
		sqe->flags |= IOSQE_FIXED_FILE;
}

/* ---- 緩衝區 ------------------------------------------------------------------ */

static inline unsigned char *buf_addr(struct ctx *c, unsigned bid)
{
	return c->bufs + (size_t)bid * c->cfg.buf_size;
}

/* 把緩衝區還給核心。buffer ring:先累積,flush_buffers() 一次 advance */
static void buf_return(struct ctx *c, unsigned bid)
{
	c->bufs_held--;
	if (c->feat.buf_ring) {
		io_uring_buf_ring_add(c->br, buf_addr(c, bid), c->cfg.buf_size, bid,
				      io_uring_buf_ring_mask(c->cfg.nbufs), c->br_pending++);
	} else {
		struct io_uring_sqe *sqe = get_sqe(c);
		io_uring_prep_provide_buffers(sqe, buf_addr(c, bid), c->cfg.buf_size, 1, BGID, bid);
		io_uring_sqe_set_data64(sqe, ud(UD_PROVIDE, bid));
	}
}

static void flush_buffers(struct ctx *c)
{
	if (c->br_pending) {
		io_uring_buf_ring_advance(c->br, c->br_pending);
		c->br_pending = 0;
	}
}

static int setup_buffers(struct ctx *c)
{
	size_t total = (size_t)c->cfg.nbufs * c->cfg.buf_size;
	int ret;

	c->bufs = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c->bufs == MAP_FAILED) {
		c->bufs = NULL;
		fprintf(stderr, "錯誤:無法配置 %zu 位元組的緩衝區:%s(調小 --buffers 或 --buffer-size)\n", total,
			strerror(errno));
		return -1;
	}

	if (!c->cfg.legacy) {
		/* liburing 2.3 沒有 io_uring_setup_buf_ring():自己 mmap ring 再註冊 */
		struct io_uring_buf_reg reg = { 0 };

		c->br_size = (size_t)c->cfg.nbufs * sizeof(struct io_uring_buf);
		c->br = mmap(NULL, c->br_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (c->br == MAP_FAILED) {
			c->br = NULL;
			fprintf(stderr, "錯誤:無法配置 buffer ring:%s\n", strerror(errno));
			return -1;
		}
		reg.ring_addr = (unsigned long)c->br;
		reg.ring_entries = c->cfg.nbufs;
		reg.bgid = BGID;
		ret = io_uring_register_buf_ring(&c->ring, &reg, 0);
		if (ret == 0) {
			c->feat.buf_ring = true;
			io_uring_buf_ring_init(c->br);
			for (unsigned i = 0; i < c->cfg.nbufs; i++)
				io_uring_buf_ring_add(c->br, buf_addr(c, i), c->cfg.buf_size, i,
						      io_uring_buf_ring_mask(c->cfg.nbufs), i);
			io_uring_buf_ring_advance(c->br, c->cfg.nbufs);
			return 0;
		}
		if (ret != -EINVAL) {
			fprintf(stderr, "錯誤:註冊 buffer ring 失敗:%s(記憶體鎖定上限?ulimit -l)\n", strerror(-ret));
			return -1;
		}
		/* 舊核心(< 5.19):退回 PROVIDE_BUFFERS */
		munmap(c->br, c->br_size);
		c->br = NULL;
	}

	struct io_uring_sqe *sqe = get_sqe(c);
	struct io_uring_cqe *cqe;

	io_uring_prep_provide_buffers(sqe, c->bufs, c->cfg.buf_size, c->cfg.nbufs, BGID, 0);
	io_uring_sqe_set_data64(sqe, ud(UD_PROVIDE, 0));
	ret = io_uring_submit_and_wait(&c->ring, 1);
	if (ret < 0 || io_uring_wait_cqe(&c->ring, &cqe) < 0) {
		fprintf(stderr, "錯誤:IORING_OP_PROVIDE_BUFFERS 失敗:%s\n", strerror(ret < 0 ? -ret : EIO));
		return -1;
	}
	ret = cqe->res;
	io_uring_cqe_seen(&c->ring, cqe);
	if (ret < 0) {
		fprintf(stderr, "錯誤:IORING_OP_PROVIDE_BUFFERS 失敗:%s(核心需要 5.7 以上)\n", strerror(-ret));
		return -1;
	}
	return 0;
}

/* ---- ring 與功能探測 ---------------------------------------------------------- */

static int setup_ring(struct ctx *c)
{
	/* 由好到差嘗試;EINVAL 表示這個核心不支援該組合 */
	static const struct {
		unsigned flags;
		const char *name;
	} tries[] = {
		{ IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, "SINGLE_ISSUER+DEFER_TASKRUN" },
		{ IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, "COOP_TASKRUN" },
		{ 0, "一般模式" },
	};
	struct io_uring_params p;
	int ret = -EINVAL;

	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		memset(&p, 0, sizeof(p));
		p.flags = tries[i].flags | IORING_SETUP_SUBMIT_ALL | IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
		/* CQ 是 SQ 的 4 倍(multishot 一個 SQE 會產生很多 CQE);核心上限 65536 */
		p.cq_entries = c->cfg.queue_depth * 4 > 65536 ? 65536 : c->cfg.queue_depth * 4;
		if (c->cfg.sqpoll) {
			/* SQPOLL 由核心執行緒提交,不能搭配 DEFER_TASKRUN */
			if (tries[i].flags & IORING_SETUP_DEFER_TASKRUN)
				continue;
			p.flags |= IORING_SETUP_SQPOLL;
			p.sq_thread_idle = 1000;
		}
		ret = io_uring_queue_init_params(c->cfg.queue_depth, &c->ring, &p);
		if (ret == 0) {
			c->feat.taskrun = tries[i].name;
			c->feat.sqpoll = c->cfg.sqpoll;
			break;
		}
		if (ret != -EINVAL)
			break;
	}
	if (ret) {
		if (ret == -EPERM)
			fprintf(stderr, "錯誤:io_uring_queue_init 被拒絕(EPERM):可能是容器的 seccomp 設定"
					"(例如 Docker 預設)或 sysctl kernel.io_uring_disabled 擋掉了 io_uring\n");
		else if (ret == -ENOMEM)
			fprintf(stderr, "錯誤:io_uring_queue_init 失敗:%s(記憶體鎖定上限太低?ulimit -l,或調小 --queue-depth)\n",
				strerror(-ret));
		else if (ret == -ENOSYS)
			fprintf(stderr, "錯誤:這個核心沒有 io_uring(需要 Linux 5.19 以上)\n");
		else
			fprintf(stderr, "錯誤:io_uring_queue_init 失敗:%s\n", strerror(-ret));
		return -1;
	}

	/* registered ring fd:io_uring_enter 不必每次查 fd 表;成功時回傳 1 */
	c->feat.ring_fd_registered = io_uring_register_ring_fd(&c->ring) == 1;

	struct io_uring_probe *probe = io_uring_get_probe_ring(&c->ring);
	/* multishot recv 與 SEND_ZC 同在 6.0 加入;multishot accept 與 IORING_OP_SOCKET 同在 5.19 */
	bool k60 = probe && io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
	bool k519 = probe && io_uring_opcode_supported(probe, IORING_OP_SOCKET);
	c->feat.multishot_recv = k60 && !c->cfg.legacy;
	c->feat.multishot_accept = k519 && !c->cfg.legacy;
	c->feat.zerocopy = c->cfg.zerocopy && probe && io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC);
	if (c->cfg.zerocopy && !c->feat.zerocopy)
		fprintf(stderr, "注意:核心不支援 SENDMSG_ZC(需要 6.1),改用一般 sendmsg\n");
	if (probe)
		io_uring_free_probe(probe);

	if (c->cfg.fixed_files) {
		ret = io_uring_register_files_sparse(&c->ring, c->cfg.max_conns);
		if (ret) {
			fprintf(stderr, "錯誤:註冊 %u 個固定檔案失敗:%s(調小 --max-conns)\n", c->cfg.max_conns,
				strerror(-ret));
			return -1;
		}
		c->feat.fixed_files = true;
	}
	return 0;
}

static int setup_listener(struct ctx *c)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->cfg.port) };
	int one = 1;

	inet_pton(AF_INET, c->cfg.bind_addr, &addr.sin_addr);
	c->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0) {
		fprintf(stderr, "錯誤:socket() 失敗:%s\n", strerror(errno));
		return -1;
	}
	setsockopt(c->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(c->listen_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(c->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int e = errno;
		if (e == EADDRINUSE)
			fprintf(stderr, "錯誤:埠 %d 已被使用(EADDRINUSE):換一個埠,或找出佔用者:ss -ltnp 'sport = :%d'\n",
				c->cfg.port, c->cfg.port);
		else if (e == EACCES)
			fprintf(stderr, "錯誤:沒有權限使用埠 %d(EACCES):1024 以下的埠需要 root 或 CAP_NET_BIND_SERVICE\n",
				c->cfg.port);
		else if (e == EADDRNOTAVAIL)
			fprintf(stderr, "錯誤:本機沒有位址 %s(EADDRNOTAVAIL)\n", c->cfg.bind_addr);
		else
			fprintf(stderr, "錯誤:bind %s:%d 失敗:%s\n", c->cfg.bind_addr, c->cfg.port, strerror(e));
		return -1;
	}
	if (listen(c->listen_fd, LISTEN_BACKLOG) < 0) {
		fprintf(stderr, "錯誤:listen() 失敗:%s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int setup_conn_table(struct ctx *c)
{
	struct rlimit rl;

	if (c->feat.fixed_files) {
		c->nconn_slots = c->cfg.max_conns;
	} else {
		/* 以 fd 為索引:表格大小 = 開檔上限 */
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < rl.rlim_max) {
			rl.rlim_cur = rl.rlim_max;
			setrlimit(RLIMIT_NOFILE, &rl);
			getrlimit(RLIMIT_NOFILE, &rl);
		}
		c->nconn_slots = rl.rlim_cur > (1u << 21) ? (1u << 21) : (unsigned)rl.rlim_cur;
		if (c->cfg.max_conns + 16 > c->nconn_slots)
			fprintf(stderr, "注意:開檔上限 %u(ulimit -n)低於 --max-conns %u,實際連線數會受限\n",
				c->nconn_slots, c->cfg.max_conns);
	}
	c->conns = calloc(c->nconn_slots, sizeof(*c->conns));
	if (!c->conns) {
		fprintf(stderr, "錯誤:無法配置連線表\n");
		return -1;
	}
	return 0;
}

static void print_features(struct ctx *c)
{
	struct utsname u;

	uname(&u);
	printf("io_uring echo 伺服器監聽 %s:%d(核心 %s)\n", c->cfg.bind_addr, c->cfg.port, u.release);
	printf("  ring:%s,SQ 深度 %u%s%s\n", c->feat.taskrun, c->cfg.queue_depth,
	       c->feat.sqpoll ? ",SQPOLL" : "", c->feat.ring_fd_registered ? ",registered ring fd" : "");
	printf("  accept:%s%s\n", c->feat.multishot_accept ? "multishot" : "單次(每次重新提交)",
	       c->feat.fixed_files ? ",直接放進固定檔案表(direct descriptor)" : "");
	printf("  recv:%s,%s %u × %u 位元組\n", c->feat.multishot_recv ? "multishot" : "單次",
	       c->feat.buf_ring ? "provided buffer ring" : "PROVIDE_BUFFERS(舊式)", c->cfg.nbufs,
	       c->cfg.buf_size);
	printf("  send:%s,每次最多合併 %d 段;每條連線待送上限 %u 個緩衝區\n",
	       c->feat.zerocopy ? "SENDMSG_ZC 零複製" : "sendmsg", SEND_IOV_MAX, c->cfg.max_pending);
	fflush(stdout);
}

/* ---- 提交 -------------------------------------------------------------------- */

static void arm_accept(struct ctx *c)
{
	struct io_uring_sqe *sqe = get_sqe(c);

	if (c->feat.multishot_accept) {
		if (c->feat.fixed_files)
			io_uring_prep_multishot_accept_direct(sqe, c->listen_fd, NULL, NULL, 0); /* direct 不接受 CLOEXEC */
		else
			io_uring_prep_multishot_accept(sqe, c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	} else {
		if (c->feat.fixed_files)
			/* liburing 2.3 的 accept_direct 會把索引 +1:傳 ALLOC-1 才是「由核心挑空位」 */
			io_uring_prep_accept_direct(sqe, c->listen_fd, NULL, NULL, 0, IORING_FILE_INDEX_ALLOC - 1);
		else
			io_uring_prep_accept(sqe, c->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	}
	io_uring_sqe_set_data64(sqe, ud(UD_ACCEPT, 0));
	c->accept_armed = true;
	c->accept_rearm = false;
}

static void arm_recv(struct ctx *c, struct conn *cn)
{
	struct io_uring_sqe *sqe = get_sqe(c);

	if (c->feat.multishot_recv)
		io_uring_prep_recv_multishot(sqe, cn->fd, NULL, 0, 0);
	else
		io_uring_prep_recv(sqe, cn->fd, NULL, c->cfg.buf_size, 0);
	set_fd(c, sqe);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	io_uring_sqe_set_data64(sqe, ud(UD_RECV, (unsigned)cn->fd));
	cn->recv_armed = true;
	cn->parked = false;
	cn->inflight++;
}

/* 取消 recv(背壓):取消完成前可能還會收到資料,照樣排入佇列 */
static void cancel_recv(struct ctx *c, struct conn *cn)
{
	struct io_uring_sqe *sqe = get_sqe(c);

	io_uring_prep_cancel64(sqe, ud(UD_RECV, (unsigned)cn->fd), 0);
	io_uring_sqe_set_data64(sqe, ud(UD_CANCEL, (unsigned)cn->fd));
	cn->recv_cancelling = true;
	cn->inflight++;
}

static void park(struct ctx *c, struct conn *cn)
{
	if (cn->parked)
		return;
	cn->parked = true;
	cn->next_parked = NULL;
	if (c->parked_tail)
		c->parked_tail->next_parked = cn;
	else
		c->parked_head = cn;
	c->parked_tail = cn;
}

/* 只重新 arm 有空緩衝區可用的數量,避免 ENOBUFS 風暴 */
static void unpark(struct ctx *c)
{
	unsigned avail = c->cfg.nbufs - c->bufs_held;

	while (c->parked_head && avail) {
		struct conn *cn = c->parked_head;

		c->parked_head = cn->next_parked;
		if (!c->parked_head)
			c->parked_tail = NULL;
		cn->parked = false;
		if (cn->closing || cn->recv_armed || cn->throttled || cn->peer_eof)
			continue;
		arm_recv(c, cn);
		avail--;
	}
}

static void queue_flush(struct ctx *c, struct conn *cn)
{
	if (!cn->flush_listed && !cn->send_busy && cn->qlen) {
		cn->flush_listed = true;
		cn->next_flush = c->flush_list;
		c->flush_list = cn;
	}
}

/* 把佇列前面(最多 SEND_IOV_MAX 段)合併成一個 sendmsg */
static void submit_send(struct ctx *c, struct conn *cn)
{
	struct io_uring_sqe *sqe;
	unsigned n = cn->qlen < SEND_IOV_MAX ? cn->qlen : SEND_IOV_MAX;

	cn->send_len = 0;
	for (unsigned i = 0; i < n; i++) {
		struct pending *p = &cn->q[(cn->qhead + i) % cn->qcap];
		cn->iov[i].iov_base = buf_addr(c, p->bid) + p->off;
		cn->iov[i].iov_len = p->len;
		cn->send_len += p->len;
	}
	cn->msg.msg_iovlen = n;

	sqe = get_sqe(c);
	if (n == 1) {
		/* 只有一段:用 SEND 而不是 SENDMSG,核心不必複製 msghdr 與 iovec */
		if (c->feat.zerocopy)
			io_uring_prep_send_zc(sqe, cn->fd, cn->iov[0].iov_base, cn->iov[0].iov_len, MSG_NOSIGNAL, 0);
		else
			io_uring_prep_send(sqe, cn->fd, cn->iov[0].iov_base, cn->iov[0].iov_len, MSG_NOSIGNAL);
	} else if (c->feat.zerocopy) {
		io_uring_prep_sendmsg_zc(sqe, cn->fd, &cn->msg, MSG_NOSIGNAL);
	} else {
		io_uring_prep_sendmsg(sqe, cn->fd, &cn->msg, MSG_NOSIGNAL);
	}
	if (c->feat.zerocopy)
		sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE; /* 通知 CQE 告訴我們是否其實複製了 */
	set_fd(c, sqe);
	io_uring_sqe_set_data64(sqe, ud(UD_SEND, (unsigned)cn->fd));
	cn->send_busy = true;
	cn->inflight++;
	if (c->feat.zerocopy)
		cn->inflight++; /* 還有一個通知 CQE */
}

static void flush_sends(struct ctx *c)
{
	while (c->flush_list) {
		struct conn *cn = c->flush_list;

		c->flush_list = cn->next_flush;
		cn->flush_listed = false;
		if (!cn->send_busy && cn->qlen && !cn->closing)
			submit_send(c, cn);
	}
}

/* ---- 連線生命週期 -------------------------------------------------------------- */

static void conn_free(struct ctx *c, struct conn *cn)
{
	/* 從暫停清單移除(罕見,線性即可) */
	if (cn->parked) {
		struct conn **pp = &c->parked_head, *prev = NULL;
		while (*pp && *pp != cn) {
			prev = *pp;
			pp = &(*pp)->next_parked;
		}
		if (*pp) {
			*pp = cn->next_parked;
			if (c->parked_tail == cn)
				c->parked_tail = prev;
		}
	}
	/* 也要從待送清單移除,否則 flush_sends 會碰到已釋放的連線 */
	if (cn->flush_listed) {
		struct conn **pp = &c->flush_list;
		while (*pp && *pp != cn)
			pp = &(*pp)->next_flush;
		if (*pp)
			*pp = cn->next_flush;
	}
	c->conns[cn->fd] = NULL;
	c->active--;
	c->st.closed++;
	free(cn->q);
	free(cn);
}

/* 最後一個 CQE 回來後才真正關閉 socket */
static void maybe_close(struct ctx *c, struct conn *cn)
{
	if (!cn->closing || cn->inflight || cn->close_sent)
		return;
	/* 沒送出的資料(連線被重設或伺服器結束)把緩衝區還回去 */
	while (cn->qlen) {
		buf_return(c, cn->q[cn->qhead].bid);
		cn->qhead = (cn->qhead + 1) % cn->qcap;
		cn->qlen--;
	}
	if (c->feat.fixed_files) {
		struct io_uring_sqe *sqe = get_sqe(c);
		io_uring_prep_close_direct(sqe, (unsigned)cn->fd);
		io_uring_sqe_set_data64(sqe, ud(UD_CLOSE, (unsigned)cn->fd));
		cn->close_sent = true;
		cn->inflight++;
	} else {
		close(cn->fd);
		conn_free(c, cn);
	}
}

/* 開始關閉。正常關閉(半關閉)時待送佇列已經送完;重設、錯誤或伺服器結束時,
 * 沒送出的資料在 maybe_close 裡歸還緩衝區後丟棄 */
static void begin_close(struct ctx *c, struct conn *cn)
{
	cn->closing = true;
	if ((cn->recv_armed || cn->send_busy) && !cn->shut) {
		/* 關閉 socket 不會取消已 arm 的 multishot recv:先 shutdown 讓它結束 */
		cn->shut = true;
		if (c->feat.fixed_files) {
			struct io_uring_sqe *sqe = get_sqe(c);
			io_uring_prep_shutdown(sqe, cn->fd, SHUT_RDWR);
			sqe->flags |= IOSQE_FIXED_FILE;
			io_uring_sqe_set_data64(sqe, ud(UD_SHUTDOWN, (unsigned)cn->fd));
			cn->inflight++;
		} else {
			shutdown(cn->fd, SHUT_RDWR);
		}
	}
	maybe_close(c, cn);
}

static void conn_new(struct ctx *c, int fd)
{
	struct conn *cn = NULL;

	if (c->stopping || (unsigned)fd >= c->nconn_slots || c->active >= c->cfg.max_conns ||
	    !(cn = calloc(1, sizeof(*cn))) || !(cn->q = malloc(8 * sizeof(*cn->q)))) {
		if (cn)
			free(cn);
		c->st.rejected++;
		if (c->feat.fixed_files) {
			struct io_uring_sqe *sqe = get_sqe(c);
			io_uring_prep_close_direct(sqe, (unsigned)fd);
			io_uring_sqe_set_data64(sqe, ud(UD_CLOSE, UINT32_MAX));
		} else {
			close(fd);
		}
		return;
	}
	cn->fd = fd;
	cn->qcap = 8;
	cn->msg.msg_iov = cn->iov;
	/* TCP_NODELAY 設在監聽 socket 上,accept 出來的連線(含 direct descriptor)都繼承 */
	c->conns[fd] = cn;
	c->active++;
	c->st.accepted++;
	if (c->bufs_held < c->cfg.nbufs)
		arm_recv(c, cn);
	else
		park(c, cn);
}

/* 回傳 false 表示記憶體不足、連線已開始關閉(可能已被釋放,呼叫者不可再碰 cn) */
static bool queue_push(struct ctx *c, struct conn *cn, unsigned bid, unsigned len)
{
	if (cn->qlen == cn->qcap) {
		/* 成長有上限:全部緩衝區就這麼多 */
		unsigned ncap = cn->qcap * 2;
		struct pending *nq = malloc(ncap * sizeof(*nq));
		if (!nq) {
			buf_return(c, bid);
			c->st.errors++;
			begin_close(c, cn);
			return false;
		}
		for (unsigned i = 0; i < cn->qlen; i++)
			nq[i] = cn->q[(cn->qhead + i) % cn->qcap];
		free(cn->q);
		cn->q = nq;
		cn->qhead = 0;
		cn->qcap = ncap;
	}
	cn->q[(cn->qhead + cn->qlen) % cn->qcap] = (struct pending){ .bid = (uint16_t)bid, .off = 0, .len = len };
	cn->qlen++;
	return true;
}

/* ---- 完成事件處理 ------------------------------------------------------------ */

static void on_accept(struct ctx *c, struct io_uring_cqe *cqe)
{
	if (!(cqe->flags & IORING_CQE_F_MORE))
		c->accept_armed = false;
	if (cqe->res >= 0) {
		conn_new(c, cqe->res);
	} else if (cqe->res == -EMFILE || cqe->res == -ENFILE) {
		time_t t = time(NULL);
		c->st.errors++;
		if (t != c->last_emfile_msg) {
			fprintf(stderr, "錯誤:開啟的檔案太多(%s):提高 ulimit -n 或調小 --max-conns;稍後重試 accept\n",
				strerror(-cqe->res));
			c->last_emfile_msg = t;
		}
		if (!c->accept_armed)
			c->accept_rearm = true; /* 等下一個時間點,避免忙迴圈 */
		return;
	} else if (cqe->res != -ECANCELED && cqe->res != -EINTR && cqe->res != -ECONNABORTED) {
		c->st.errors++;
		fprintf(stderr, "注意:accept 失敗:%s\n", strerror(-cqe->res));
	}
	if (!c->accept_armed && !c->stopping && !c->accept_rearm)
		arm_accept(c);
}

/* 背壓解除或取消完成後:若條件允許,恢復讀取 */
static void maybe_resume(struct ctx *c, struct conn *cn)
{
	if (cn->closing || cn->peer_eof || cn->recv_armed || cn->recv_cancelling || cn->parked)
		return;
	if (cn->throttled) {
		if (cn->qlen > c->cfg.max_pending / 2)
			return;
		cn->throttled = false;
	}
	if (c->bufs_held < c->cfg.nbufs)
		arm_recv(c, cn);
	else
		park(c, cn);
}

static void on_recv(struct ctx *c, struct conn *cn, struct io_uring_cqe *cqe)
{
	bool more = cqe->flags & IORING_CQE_F_MORE;
	int res = cqe->res;

	if (!more) {
		cn->inflight--;
		cn->recv_armed = false;
	}
	if (res > 0) {
		unsigned bid = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
		c->bufs_held++;
		c->st.msgs++;
		c->st.bytes_in += (unsigned)res;
		if (cn->closing) {
			buf_return(c, bid);
		} else {
			if (!queue_push(c, cn, bid, (unsigned)res))
				return;
			queue_flush(c, cn);
			/* 背壓:待送太多就停止讀取 */
			if (cn->qlen >= c->cfg.max_pending && !cn->throttled) {
				cn->throttled = true;
				c->st.throttles++;
				if (cn->recv_armed && !cn->recv_cancelling)
					cancel_recv(c, cn);
			}
		}
	} else if (res == 0) {
		cn->peer_eof = true; /* 半關閉:送完剩下的再關 */
	} else if (res == -ENOBUFS) {
		c->st.enobufs++;
	} else if (res != -ECANCELED) {
		if (res != -ECONNRESET && res != -EPIPE) {
			c->st.errors++;
			if (c->st.errors <= 5)
				fprintf(stderr, "注意:recv 失敗:%s\n", strerror(-res));
		}
		begin_close(c, cn);
		return;
	}

	if (cn->closing) {
		maybe_close(c, cn);
		return;
	}
	if (cn->peer_eof) {
		if (!cn->qlen && !cn->send_busy && !cn->recv_armed)
			begin_close(c, cn);
		return;
	}
	if (res == -ENOBUFS && !cn->recv_armed && !cn->throttled)
		park(c, cn);
	else
		maybe_resume(c, cn);
}

static void release_sent(struct ctx *c, struct conn *cn, size_t sent)
{
	while (sent && cn->qlen) {
		struct pending *p = &cn->q[cn->qhead];
		if (sent >= p->len) {
			sent -= p->len;
			buf_return(c, p->bid);
			cn->qhead = (cn->qhead + 1) % cn->qcap;
			cn->qlen--;
		} else {
			p->off += (uint32_t)sent;
			p->len -= (uint32_t)sent;
			sent = 0;
		}
	}
}

static void send_done(struct ctx *c, struct conn *cn, int res)
{
	cn->send_busy = false;
	if (res < 0) {
		if (res != -EPIPE && res != -ECONNRESET && res != -ECANCELED)
			c->st.errors++;
		begin_close(c, cn);
		return;
	}
	c->st.bytes_out += (unsigned)res;
	if ((size_t)res < cn->send_len)
		c->st.partial_sends++;
	release_sent(c, cn, (size_t)res);
	if (cn->closing) {
		maybe_close(c, cn);
		return;
	}
	if (cn->qlen)
		submit_send(c, cn); /* 部分送出或有新資料:從斷點繼續,保持順序 */
	maybe_resume(c, cn);
	if (cn->peer_eof && !cn->qlen && !cn->send_busy && !cn->recv_armed)
		begin_close(c, cn);
}

static void on_send(struct ctx *c, struct conn *cn, struct io_uring_cqe *cqe)
{
	cn->inflight--;
	if (!c->feat.zerocopy) {
		send_done(c, cn, cqe->res);
		return;
	}
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		/* 通知 CQE:核心不再引用這些緩衝區,現在才能歸還 */
		if (cqe->res & IORING_NOTIF_USAGE_ZC_COPIED)
			c->st.zc_copied++;
		send_done(c, cn, cn->zc_res);
		return;
	}
	/* 第一個 CQE 是結果;有 F_MORE 表示之後還有通知 CQE,要等它 */
	cn->zc_res = cqe->res;
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		cn->inflight--; /* 不會有通知 */
		send_done(c, cn, cqe->res);
	}
}

static void handle_cqe(struct ctx *c, struct io_uring_cqe *cqe)
{
	uint64_t d = io_uring_cqe_get_data64(cqe);
	unsigned type = (unsigned)(d >> 56);
	unsigned idx = (unsigned)(d & 0xffffffffu);
	struct conn *cn = NULL;

	if (type == UD_ACCEPT) {
		on_accept(c, cqe);
		return;
	}
	if (type == UD_PROVIDE || type == UD_ACANCEL)
		return;
	if (type == UD_CLOSE && idx == UINT32_MAX)
		return;
	if (idx < c->nconn_slots)
		cn = c->conns[idx];
	if (!cn) {
		/* 不該發生:保守處理,歸還緩衝區 */
		if (cqe->flags & IORING_CQE_F_BUFFER) {
			c->bufs_held++;
			buf_return(c, cqe->flags >> IORING_CQE_BUFFER_SHIFT);
		}
		c->st.errors++;
		return;
	}
	switch (type) {
	case UD_RECV:
		on_recv(c, cn, cqe);
		break;
	case UD_SEND:
		on_send(c, cn, cqe);
		break;
	case UD_CANCEL:
		cn->inflight--;
		cn->recv_cancelling = false;
		if (cn->closing)
			maybe_close(c, cn);
		else
			maybe_resume(c, cn); /* 取消期間佇列可能已經送完 */
		break;
	case UD_SHUTDOWN:
		cn->inflight--;
		maybe_close(c, cn);
		break;
	case UD_CLOSE:
		cn->inflight--;
		conn_free(c, cn);
		break;
	}
}

/* ---- 統計 -------------------------------------------------------------------- */

static void print_tick(struct ctx *c, double dt)
{
	uint64_t msgs = c->st.msgs - c->last.msgs;
	uint64_t bytes = c->st.bytes_in - c->last.bytes_in;
	char a[32], b[32], d[32];

	if (!msgs && c->st.accepted == c->last.accepted && c->st.closed == c->last.closed)
		return; /* 沒有流量就不印 */
	printf("[統計] 連線 %s | 累計接受 %s | %s 訊息/秒 | %.2f MB/秒%s\n", commas(c->active, a, sizeof(a)),
	       commas(c->st.accepted, b, sizeof(b)), commas((uint64_t)(msgs / dt), d, sizeof(d)),
	       bytes / dt / 1e6, c->st.errors > c->last.errors ? " | 有錯誤" : "");
	fflush(stdout);
}

static void print_summary(struct ctx *c)
{
	double el = now_sec(&c->start);
	struct rusage ru;
	char a[32], b[32], d[32], e[32];

	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("\n== 總結 ==\n");
	printf("  執行時間   %.1f 秒(CPU %.2f 秒)\n", el, cpu);
	printf("  連線       共 %s 條(拒絕 %s)\n", commas(c->st.accepted, a, sizeof(a)),
	       commas(c->st.rejected, b, sizeof(b)));
	printf("  訊息       %s 次 recv 完成\n", commas(c->st.msgs, d, sizeof(d)));
	printf("  位元組     收 %s / 送 %s\n", commas(c->st.bytes_in, a, sizeof(a)),
	       commas(c->st.bytes_out, e, sizeof(e)));
	printf("  錯誤       %s(ENOBUFS %llu、部分送出 %llu、背壓 %llu 次)\n", commas(c->st.errors, b, sizeof(b)),
	       (unsigned long long)c->st.enobufs, (unsigned long long)c->st.partial_sends,
	       (unsigned long long)c->st.throttles);
	if (c->feat.zerocopy)
		printf("  零複製     %llu 次送出核心其實做了複製(例如 loopback 上一定會複製)\n",
		       (unsigned long long)c->st.zc_copied);
	printf("SUMMARY prog=io_uring_async conns=%llu rejected=%llu msgs=%llu bytes_in=%llu bytes_out=%llu "
	       "errors=%llu enobufs=%llu partial_sends=%llu throttles=%llu zc_copied=%llu elapsed_s=%.3f cpu_s=%.3f\n",
	       (unsigned long long)c->st.accepted, (unsigned long long)c->st.rejected,
	       (unsigned long long)c->st.msgs, (unsigned long long)c->st.bytes_in,
	       (unsigned long long)c->st.bytes_out, (unsigned long long)c->st.errors,
	       (unsigned long long)c->st.enobufs, (unsigned long long)c->st.partial_sends,
	       (unsigned long long)c->st.throttles, (unsigned long long)c->st.zc_copied, el, cpu);
	fflush(stdout);
}

/* ---- 事件迴圈 ---------------------------------------------------------------- */

static void process_cqes(struct ctx *c)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&c->ring, head, cqe)
	{
		handle_cqe(c, cqe);
		n++;
	}
	io_uring_cq_advance(&c->ring, n);
}

static void before_submit(struct ctx *c)
{
	flush_sends(c);
	flush_buffers(c);
	unpark(c);
}

static int event_loop(struct ctx *c)
{
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 200 * 1000 * 1000 };
	struct io_uring_cqe *cqe;

	arm_accept(c);
	clock_gettime(CLOCK_MONOTONIC, &c->last_tick);
	while (!stop_flag) {
		before_submit(c);
		int ret = io_uring_submit_and_wait_timeout(&c->ring, &cqe, 1, &ts, NULL);
		if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY) {
			fprintf(stderr, "錯誤:io_uring_submit_and_wait 失敗:%s\n", strerror(-ret));
			return -1;
		}
		process_cqes(c);

		double dt = now_sec(&c->last_tick);
		if (dt >= 1.0) {
			if (!c->cfg.quiet)
				print_tick(c, dt);
			c->last = c->st;
			clock_gettime(CLOCK_MONOTONIC, &c->last_tick);
			if (c->accept_rearm && !c->accept_armed)
				arm_accept(c);
		}
	}
	return 0;
}

/* 停止:不再接受新連線,關閉所有連線,等最後的 CQE(最多 3 秒) */
static void drain(struct ctx *c)
{
	struct __kernel_timespec ts = { .tv_sec = 0, .tv_nsec = 100 * 1000 * 1000 };
	struct io_uring_cqe *cqe;
	struct timespec t0;

	c->stopping = true;
	if (c->accept_armed) {
		struct io_uring_sqe *sqe = get_sqe(c);
		io_uring_prep_cancel64(sqe, ud(UD_ACCEPT, 0), 0);
		io_uring_sqe_set_data64(sqe, ud(UD_ACANCEL, 0));
	}
	for (unsigned i = 0; i < c->nconn_slots; i++)
		if (c->conns[i])
			begin_close(c, c->conns[i]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((c->active || c->accept_armed) && now_sec(&t0) < 3.0) {
		before_submit(c);
		io_uring_submit_and_wait_timeout(&c->ring, &cqe, 1, &ts, NULL);
		process_cqes(c);
	}
}

static void cleanup(struct ctx *c)
{
	/* 逾時還沒結束的連線:io_uring_queue_exit 會取消所有請求,之後再關 fd */
	if (c->ring.ring_fd > 0)
		io_uring_queue_exit(&c->ring);
	if (c->conns) {
		for (unsigned i = 0; i < c->nconn_slots; i++) {
			struct conn *cn = c->conns[i];
			if (!cn)
				continue;
			if (!c->feat.fixed_files)
				close(cn->fd);
			free(cn->q);
			free(cn);
		}
		free(c->conns);
	}
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->br)
		munmap(c->br, c->br_size);
	if (c->bufs)
		munmap(c->bufs, (size_t)c->cfg.nbufs * c->cfg.buf_size);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int main(int argc, char **argv)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct sigaction sa = { .sa_handler = on_signal };
	int rc = 1;

	if (!c) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		return 1;
	}
	c->listen_fd = -1;
	c->ring.ring_fd = -1;
	parse_args(argc, argv, &c->cfg);

	/* 不設 SA_RESTART:訊號讓 io_uring_enter 以 EINTR 返回,迴圈才能檢查 stop_flag */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (setup_ring(c) || setup_buffers(c) || setup_listener(c) || setup_conn_table(c))
		goto out;
	print_features(c);
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	if (event_loop(c))
		goto out;
	drain(c);
	print_summary(c);
	rc = 0;
out:
	cleanup(c);
	free(c);
	return rc;
}
