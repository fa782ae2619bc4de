// SPDX-License-Identifier: MIT
/*
 * rdma_communication.c — RDMA 客戶端 / 伺服器示範(librdmacm + libibverbs)
 *
 * 示範什麼:
 *   以 rdma_cm 建立 RC(Reliable Connection)連線(解析位址與路由、建立 QP、
 *   connect / accept、disconnect),配置 protection domain(PD)、completion queue(CQ)、
 *   註冊記憶體(MR),然後:
 *     - 雙邊(two-sided)SEND / RECV:客戶端送出問候,伺服器收到後回覆;
 *     - 單邊(one-sided)RDMA WRITE / READ:客戶端直接寫入伺服器的記憶體,再讀回來驗證,
 *       伺服器的 CPU 完全不參與資料搬移;
 *     - 量測模式:延遲 ping-pong(最小 / p50 / p99 / 最大 / 平均)與頻寬(MB/s、Gb/s、則/秒)。
 *
 * 需要:
 *   rdma-core(libibverbs、librdmacm;Debian 套件 libibverbs-dev librdmacm-dev
 *   ibverbs-providers)以及一個 RDMA 裝置:真正的 RDMA 網卡(InfiniBand / RoCE / iWARP),
 *   或核心的 Soft-RoCE:sudo rdma link add rxe0 type rxe netdev eth0(需要 rdma_rxe 模組)。
 *   核心完全沒有 RDMA 時,用套件的 VM:make rdma-vm。
 *   註冊記憶體會鎖定分頁:非 root 使用者需要足夠的 ulimit -l。
 *
 * 用法:
 *   ./rdma_communication server [--port 7471] [--bind 位址] [--once]
 *   ./rdma_communication client 伺服器IP [--test lat|bw] [--op send|write|read]
 *                                 [--size 位元組] [--iters 次數] [--depth 佇列深度] [--event]
 *
 * 一個指令試試看(在有 rxe0 的機器或 VM 裡,IP 是 rxe0 所在介面的位址,不能用 127.0.0.1):
 *   ./rdma_communication server --once & sleep 1; ./rdma_communication client 10.0.2.15
 *
 * 統計數字的意義:
 *   延遲模式:send 與 write 是 ping-pong,回報「單程延遲 = 來回時間 / 2」(與 perftest 的
 *   ib_send_lat / ib_write_lat 相同);read 回報一次 RDMA READ 的完整來回時間(同 ib_read_lat)。
 *   p50 相當於 perftest 的 t_typical(超過 1,048,576 次時,p50 / p99 由均勻抽樣的樣本估計,
 *   最小 / 最大 / 平均仍是精確值)。頻寬模式:客戶端維持 --depth 個未完成的工作請求,
 *   回報 MB/s(1 MB = 1,048,576 位元組,同 perftest)、Gb/s(10^9 位元)與每秒訊息數。
 *   CPU:本程式在量測期間用掉的 user+system 時間,以及每則訊息平均的 CPU 奈秒數;
 *   忙碌輪詢(預設)時 CPU 約 100%,--event 改成等待完成事件,CPU 較低但延遲較高。
 *   程式結束時印一行機器可讀的 SUMMARY key=value…
 *
 * 線路協定(wire protocol):
 *   1. 客戶端 rdma_connect() 時在 private data 裡放 struct hello(網路位元組序):
 *        magic "KBSR"、版本、測試種類、操作、訊息大小、次數、佇列深度、旗標,
 *        以及客戶端「視窗」記憶體的位址(addr)、長度與 rkey。
 *   2. 伺服器在 CONNECT_REQUEST 事件讀出 hello,依其中的大小與深度配置並註冊記憶體,
 *      rdma_accept() 時在 private data 裡放 struct welcome:magic、伺服器視窗的 addr、
 *      長度與 rkey。客戶端在 ESTABLISHED 事件讀出它 —— 這就是客戶端知道伺服器
 *      緩衝區位址與 rkey 的方式(不必另外交換訊息)。
 *   3. 之後的資料:SEND(雙邊,落在對方預先 post 的 RECV 緩衝區)、RDMA WRITE / READ
 *      (單邊,直接存取對方視窗 addr + 偏移,用對方的 rkey)。
 *   4. 控制訊號是長度 0 的 SEND_WITH_IMM,immediate 值 >= 0x80000000:
 *        DONE(客戶端:測試結束)、ACK_OK / ACK_BAD(伺服器:確認,附驗證結果)。
 *      伺服器忙碌時以 private data "BUSY" 拒絕新的連線。
 *   每一側的記憶體分三區:[送出區 | 接收區 | 視窗區],slot 大小與數量由 hello 的
 *   大小與深度決定(兩端規則相同);只有視窗區開放給對方 RDMA WRITE / READ。
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define DEFAULT_PORT 7471
#define CONNECT_TIMEOUT_MS 5000 /* 連不上伺服器時最多等這麼久 */
#define RESOLVE_TIMEOUT_MS 2000
#define PEER_IDLE_MS 10000 /* 雙邊交換時,對方這麼久沒動靜就放棄這個連線 */
#define HELLO_MAGIC 0x4b425352u /* "KBSR" */
#define PROTO_VERSION 1
#define MIN_SLOT 256
#define MAX_SIZE (64u << 20)
#define MAX_DEPTH 1024
#define MAX_ITERS 100000000u
#define MAX_SAMPLES (1u << 20) /* 8 MiB 的延遲樣本 */

/* 控制訊號(SEND_WITH_IMM 的 immediate 值) */
#define TOKEN_DONE 0x80444f4eu
#define TOKEN_ACK_OK 0x80414b31u
#define TOKEN_ACK_BAD 0x80414b30u
#define IS_TOKEN(imm) ((imm) >= 0x80000000u)

/* 線路協定:連線時交換的 private data(見檔頭「線路協定」;全部是網路位元組序) */
struct hello {
	uint32_t magic, version;
	uint8_t test, op, event, pad;
	uint32_t size, iters, depth;
	uint32_t win_len, rkey;
	uint64_t win_addr;
} __attribute__((packed));

struct welcome {
	uint32_t magic, win_len, rkey;
	uint64_t win_addr;
} __attribute__((packed));

#define htonll(v) htobe64(v)
#define ntohll(v) be64toh(v)

static const char GREETING[] = "你好,RDMA 伺服器!這是客戶端用雙邊 SEND 送來的問候。";
static const char REPLY[] = "你好,客戶端!伺服器收到你的問候了,這是 SEND 回覆。";
static const char WRITE_TEXT[] = "這段文字由客戶端以 RDMA WRITE 直接寫進伺服器的記憶體,伺服器的 CPU 沒有參與搬移。";

/* ---- 設定與選項 ---------------------------------------------------------------- */

enum role { ROLE_SERVER, ROLE_CLIENT };
enum test { TEST_DEMO, TEST_LAT, TEST_BW };
enum op { OP_SEND, OP_WRITE, OP_READ };

static const char *const test_names[] = { "demo", "lat", "bw" };
static const char *const op_names[] = { "send", "write", "read" };

struct config {
	enum role role;
	const char *server;    /* 客戶端:伺服器位址 */
	const char *bind_addr; /* --bind */
	const char *device;    /* --device */
	int gid_index;	       /* --gid-index,-1 = 不指定 */
	int port;
	enum test test;
	enum op op;
	uint32_t size;
	uint32_t iters;
	uint32_t depth;
	bool event;
	bool once;
	bool size_set, iters_set;
};

struct opt_help {
	struct option opt;
	const char *arg;
	const char *help;
};

static const struct opt_help options[] = {
	{ { "port", required_argument, NULL, 'p' }, "埠", "rdma_cm 埠(預設 7471)" },
	{ { "bind", required_argument, NULL, 'b' }, "位址",
	  "伺服器:監聽的位址;客戶端:來源位址(預設:伺服器 0.0.0.0,客戶端依路由)" },
	{ { "device", required_argument, NULL, 'd' }, "名稱",
	  "RDMA 裝置(例如 rxe0、mlx5_0);未給 --bind 時綁到該裝置的 IPv4 位址" },
	{ { "gid-index", required_argument, NULL, 'x' }, "N",
	  "以裝置 GID 表第 N 項(IPv4 對應位址)當作本地位址;rxe 通常是 1" },
	{ { "test", required_argument, NULL, 't' }, "種類",
	  "demo(預設:問候 + WRITE/READ 驗證)、lat(延遲)、bw(頻寬);只用於客戶端" },
	{ { "op", required_argument, NULL, 'o' }, "操作", "send(預設)、write、read" },
	{ { "size", required_argument, NULL, 's' }, "位元組",
	  "每則訊息大小(lat 預設 64,bw 預設 65536,上限 64 MiB)" },
	{ { "iters", required_argument, NULL, 'n' }, "次數",
	  "訊息數(lat 預設 1000,bw 預設 5000)" },
	{ { "depth", required_argument, NULL, 'q' }, "N",
	  "頻寬模式同時未完成的工作請求數(預設 16,上限 1024)" },
	{ { "event", no_argument, NULL, 'e' }, NULL,
	  "等待完成事件(completion channel)而不是忙碌輪詢 CQ" },
	{ { "once", no_argument, NULL, '1' }, NULL, "伺服器服務完一個客戶端就結束" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "顯示這份說明" },
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* ---- 執行期狀態 ---------------------------------------------------------------- */

/* 一條連線上配置的所有資源(伺服器每個客戶端一份) */
struct conn {
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	struct ibv_mr *mr;
	char *buf;
	size_t slot;  /* 每個 slot 的位元組數 */
	uint32_t slots;
	size_t area;  /* 送出區與視窗區的位元組數 = slot * slots */
	uint32_t rslots; /* 接收區的 slot 數(預先 post 的 RECV 數) */
	size_t rarea;    /* 接收區的位元組數 = slot * rslots */
	size_t total;    /* 註冊的記憶體總長 */
	bool qp_created;
	bool connected;
	/* 對方的視窗 */
	uint64_t peer_addr;
	uint32_t peer_rkey;
	uint32_t peer_len;
	/* 本次連線的參數(客戶端是自己的設定,伺服器取自 hello) */
	enum test test;
	enum op op;
	uint32_t size, iters, depth;
	bool event;
	/* 計數 */
	uint64_t posted;     /* 已 post 的送出端工作請求 */
	uint64_t completed;  /* 已完成的送出端工作請求 */
	uint64_t recvs;      /* 收到的資料訊息(含 WRITE_WITH_IMM) */
	uint64_t recv_bytes;
	uint32_t last_token;
	uint64_t tokens;
	uint32_t last_recv_len;
	char last_msg[256];
	unsigned cq_events_unacked;
	bool block; /* 暫時改成等待完成事件(伺服器等單邊操作結束時不佔 CPU) */
	uint32_t sig_every;  /* 每幾個送出端 WR 要求一次 CQE(1 = 每個都要) */
	uint32_t max_inline; /* QP 支援的 inline 資料上限 */
	bool peer_gone;
	bool failed;
};

struct ctx {
	struct config *cfg;
	struct rdma_event_channel *ec;
	struct rdma_cm_id *listen_id;
	struct conn c;
	struct ibv_context *shown_dev; /* 已印過資訊的裝置 */
	uint64_t spins;
	uint64_t clients;
	uint64_t clients_ok;
	uint64_t clients_lost;
	/* 延遲樣本:最多 MAX_SAMPLES 個(超過時以 reservoir sampling 均勻抽樣),極值與總和另計 */
	uint64_t *samples;
	uint64_t nsamples_cap;
	uint64_t lat_min, lat_max;
	double lat_sum;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* ---- 小工具 -------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

/* 以千分位格式化整數(VM 裡沒有 locale,不能靠 printf 的 ' 旗標) */
static const char *commas(uint64_t v, char *out, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	size_t j = 0;

	for (int i = 0; i < n && j + 2 < len; i++) {
		out[j++] = tmp[i];
		if ((n - i - 1) % 3 == 0 && i != n - 1)
			out[j++] = ',';
	}
	out[j] = '\0';
	return out;
}

static __attribute__((noreturn)) void usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "錯誤:");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "(./rdma_communication --help 看說明)\n");
	exit(64);
}

/* 終端機上的顯示寬度:ASCII 佔 1 格,中文(UTF-8 三位元組以上)佔 2 格 */
static int display_width(const char *s)
{
	int w = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x80)
			w++;
		else if (*p >= 0xe0)
			w += 2;
	}
	return w;
}

static void print_help(void)
{
	printf("用法:\n"
	       "  rdma_communication server [選項]\n"
	       "  rdma_communication client 伺服器IP [選項]\n\n"
	       "以 rdma_cm 建立 RC 連線,示範 SEND/RECV、RDMA WRITE/READ,並量測延遲與頻寬。\n"
	       "伺服器服務完一個客戶端後繼續等下一個(--once 除外);客戶端的設定在連線時告訴伺服器。\n\n"
	       "選項:\n");
	for (size_t i = 0; i < N_OPTIONS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "-%c, --%s%s%s", options[i].opt.val, options[i].opt.name,
			 options[i].arg ? " " : "", options[i].arg ? options[i].arg : "");
		printf("  %s%*s %s\n", left, 24 - display_width(left), "", options[i].help);
	}
	printf("\n例:\n"
	       "  ./rdma_communication server &\n"
	       "  ./rdma_communication client 10.0.2.15                         # 問候 + WRITE/READ 驗證\n"
	       "  ./rdma_communication client 10.0.2.15 --test lat --op write    # 延遲\n"
	       "  ./rdma_communication client 10.0.2.15 --test bw --op write --size 65536 --depth 32\n\n"
	       "沒有 RDMA 裝置?有 rdma_rxe 模組時:sudo rdma link add rxe0 type rxe netdev eth0;\n"
	       "核心沒有 RDMA 時在套件的 Soft-RoCE VM 裡試:make rdma-vm\n"
	       "注意:127.0.0.1 不能用於 rdma_cm,請用 RDMA 裝置所在網路介面的 IP。\n"
	       "結束碼:0 成功,1 執行期錯誤,64 用法錯誤。\n");
}

static unsigned long parse_num(const char *s, const char *what, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*s == '-' || *s == '\0')
		usage_error("%s 需要正整數,得到「%s」", what, s);
	v = strtoul(s, &end, 0);
	if (errno || *end)
		usage_error("%s 需要整數,得到「%s」", what, s);
	if (v < min || v > max)
		usage_error("%s 必須介於 %lu 與 %lu 之間,得到 %lu", what, min, max, v);
	return v;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	struct option longopts[N_OPTIONS + 1];
	char shortopts[3 * N_OPTIONS + 2];
	size_t k = 0;
	int c;

	shortopts[k++] = ':'; /* 缺參數時回傳 ':',與不認得的選項分開 */
	for (size_t i = 0; i < N_OPTIONS; i++) {
		longopts[i] = options[i].opt;
		shortopts[k++] = (char)options[i].opt.val;
		if (options[i].opt.has_arg == required_argument)
			shortopts[k++] = ':';
	}
	memset(&longopts[N_OPTIONS], 0, sizeof(longopts[0]));
	shortopts[k] = '\0';

	*cfg = (struct config){ .port = DEFAULT_PORT, .gid_index = -1, .depth = 16 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			cfg->port = (int)parse_num(optarg, "--port", 1, 65535);
			break;
		case 'b':
			cfg->bind_addr = optarg;
			break;
		case 'd':
			if (strlen(optarg) >= IBV_SYSFS_NAME_MAX || !*optarg)
				usage_error("--device 名稱長度不對:「%s」", optarg);
			cfg->device = optarg;
			break;
		case 'x':
			cfg->gid_index = (int)parse_num(optarg, "--gid-index", 0, 255);
			break;
		case 't':
			if (!strcmp(optarg, "demo"))
				cfg->test = TEST_DEMO;
			else if (!strcmp(optarg, "lat"))
				cfg->test = TEST_LAT;
			else if (!strcmp(optarg, "bw"))
				cfg->test = TEST_BW;
			else
				usage_error("--test 只能是 demo、lat 或 bw,得到「%s」", optarg);
			break;
		case 'o':
			if (!strcmp(optarg, "send"))
				cfg->op = OP_SEND;
			else if (!strcmp(optarg, "write"))
				cfg->op = OP_WRITE;
			else if (!strcmp(optarg, "read"))
				cfg->op = OP_READ;
			else
				usage_error("--op 只能是 send、write 或 read,得到「%s」", optarg);
			break;
		case 's':
			cfg->size = (uint32_t)parse_num(optarg, "--size", 1, MAX_SIZE);
			cfg->size_set = true;
			break;
		case 'n':
			cfg->iters = (uint32_t)parse_num(optarg, "--iters", 1, MAX_ITERS);
			cfg->iters_set = true;
			break;
		case 'q':
			cfg->depth = (uint32_t)parse_num(optarg, "--depth", 1, MAX_DEPTH);
			break;
		case 'e':
			cfg->event = true;
			break;
		case '1':
			cfg->once = true;
			break;
		case 'h':
			print_help();
			exit(0);
		case ':':
			usage_error("選項 %s 需要參數", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("不認得的選項「-%c」", optopt);
			usage_error("不認得的選項「%s」", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("需要指定 server 或 client");
	if (!strcmp(argv[optind], "server")) {
		cfg->role = ROLE_SERVER;
		optind++;
	} else if (!strcmp(argv[optind], "client")) {
		cfg->role = ROLE_CLIENT;
		optind++;
		if (optind >= argc)
			usage_error("client 需要伺服器 IP,例如:client 10.0.2.15");
		cfg->server = argv[optind++];
	} else {
		usage_error("第一個參數必須是 server 或 client,得到「%s」", argv[optind]);
	}
	if (optind < argc)
		usage_error("多餘的參數「%s」", argv[optind]);
	if (cfg->role == ROLE_SERVER && (cfg->test != TEST_DEMO || cfg->size_set || cfg->iters_set))
		usage_error("--test / --size / --iters 只用於客戶端(伺服器依客戶端的要求執行)");
	if (cfg->role == ROLE_CLIENT && cfg->once)
		usage_error("--once 只用於伺服器");
	if (!cfg->size_set)
		cfg->size = cfg->test == TEST_BW ? 65536 : 64;
	if (!cfg->iters_set)
		cfg->iters = cfg->test == TEST_BW ? 5000 : 1000;
	if (cfg->test == TEST_DEMO && cfg->size < sizeof(WRITE_TEXT))
		cfg->size = sizeof(WRITE_TEXT);
	if ((uint64_t)cfg->size * (cfg->depth < 4 ? 4 : cfg->depth) * 3 > (1ull << 30))
		usage_error("--size × --depth 太大(每側需要 3 × size × depth 位元組,上限 1 GiB)");
}

/* 位址解析:127.0.0.0/8 與 ::1 在 rdma_cm 上不能用,先擋下來 */
static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, const char *what)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	char portstr[16];
	int ret;

	snprintf(portstr, sizeof(portstr), "%d", port);
	ret = getaddrinfo(host, portstr, &hints, &res);
	if (ret) {
		fprintf(stderr, "錯誤:無法解析%s「%s」:%s(請給 IPv4 位址,例如 10.0.2.15)\n", what,
			host, gai_strerror(ret));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if ((ss->ss_family == AF_INET &&
	     (ntohl(((struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127) ||
	    (ss->ss_family == AF_INET6 &&
	     IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ss)->sin6_addr))) {
		fprintf(stderr,
			"錯誤:%s「%s」是 loopback,rdma_cm 不能用:RDMA 裝置綁在實體(或 rxe 所在的)"
			"網路介面上。請改用該介面的 IP(ip -4 addr show eth0),同一台機器也一樣\n",
			what, host);
		return -1;
	}
	return 0;
}

static const char *addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = sa->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
						 : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (!inet_ntop(sa->sa_family, a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

/* ---- 裝置 ---------------------------------------------------------------------- */

static const char *mtu_str(enum ibv_mtu m)
{
	switch (m) {
	case IBV_MTU_256: return "256";
	case IBV_MTU_512: return "512";
	case IBV_MTU_1024: return "1024";
	case IBV_MTU_2048: return "2048";
	case IBV_MTU_4096: return "4096";
	default: return "?";
	}
}

static uint32_t mtu_bytes(enum ibv_mtu m)
{
	return m >= IBV_MTU_256 && m <= IBV_MTU_4096 ? 128u << m : 0;
}

/* 在 GID 表裡找某個 IPv4 位址對應的項目(::ffff:a.b.c.d);找不到回傳 -1 */
static int find_gid_index(struct ibv_context *dev, uint8_t port, const struct sockaddr *sa)
{
	struct ibv_port_attr pa;
	union ibv_gid gid;

	if (sa->sa_family != AF_INET || ibv_query_port(dev, port, &pa))
		return -1;
	for (int i = 0; i < pa.gid_tbl_len && i < 256; i++) {
		if (ibv_query_gid(dev, port, i, &gid))
			continue;
		if (!memcmp(&gid.raw[12], &((const struct sockaddr_in *)sa)->sin_addr, 4) &&
		    gid.raw[10] == 0xff && gid.raw[11] == 0xff)
			return i;
	}
	return -1;
}

/* 印出使用中的裝置:名稱、傳輸(InfiniBand / RoCE)、埠狀態、active MTU、GID index */
static void print_device(struct ctx *x, struct ibv_context *dev, uint8_t port, const struct sockaddr *local)
{
	struct ibv_port_attr pa;
	char ip[INET6_ADDRSTRLEN];
	int gi;

	if (!dev || x->shown_dev == dev)
		return;
	x->shown_dev = dev;
	if (ibv_query_port(dev, port, &pa)) {
		printf("裝置:%s(無法查詢埠 %u:%s)\n", ibv_get_device_name(dev->device), port, strerror(errno));
		return;
	}
	gi = local ? find_gid_index(dev, port, local) : -1;
	printf("裝置:%s 埠 %u,傳輸 %s,狀態 %s,active MTU %s,",
	       ibv_get_device_name(dev->device), port,
	       pa.link_layer == IBV_LINK_LAYER_ETHERNET ? "RoCE(乙太網路上的 RDMA)" : "InfiniBand",
	       ibv_port_state_str(pa.state), mtu_str(pa.active_mtu));
	if (gi >= 0)
		printf("GID index %d(%s 的 IPv4 對應 GID,rdma_cm 依位址自動選用)\n", gi,
		       addr_str(local, ip, sizeof(ip)));
	else
		printf("GID index 由 rdma_cm 依位址選擇\n");
	if (pa.state != IBV_PORT_ACTIVE)
		printf("警告:埠不是 ACTIVE,連線可能失敗(檢查網路介面是否 up)\n");
	if (x->cfg->size > mtu_bytes(pa.active_mtu) && mtu_bytes(pa.active_mtu))
		printf("提示:訊息 %u 位元組大於路徑 MTU %u:RC 會自動切成多個封包(UD 就不行)\n",
		       x->cfg->size, mtu_bytes(pa.active_mtu));
	fflush(stdout);
}

/* 檢查有沒有 RDMA 裝置;--device / --gid-index 時順便找出本地位址 */
static int check_devices(struct ctx *x, struct sockaddr_storage *local, bool *have_local)
{
	struct config *cfg = x->cfg;
	struct ibv_device **list;
	struct ibv_device *pick = NULL;
	int n = 0, ret = -1;

	*have_local = false;
	list = ibv_get_device_list(&n);
	if (!list || n == 0) {
		fprintf(stderr,
			"錯誤:找不到任何 RDMA 裝置(ibv_get_device_list 是空的)。\n"
			"提示:沒有 RDMA 網卡時可建立 Soft-RoCE:sudo modprobe rdma_rxe && "
			"sudo rdma link add rxe0 type rxe netdev eth0(eth0 換成你的網路介面);\n"
			"      核心沒有 RDMA(沒有 rdma_rxe 模組)時,用套件的 VM:make rdma-vm\n");
		if (list)
			ibv_free_device_list(list);
		return -1;
	}
	printf("RDMA 裝置:");
	for (int i = 0; i < n; i++) {
		printf("%s%s", i ? "、" : "", ibv_get_device_name(list[i]));
		if (cfg->device && !strcmp(cfg->device, ibv_get_device_name(list[i])))
			pick = list[i];
	}
	printf("\n");
	if (cfg->device && !pick) {
		fprintf(stderr, "錯誤:沒有名為 %s 的 RDMA 裝置(ibv_devices 列出可用的裝置)\n", cfg->device);
		goto out;
	}
	if (!pick)
		pick = list[0];
	if (!cfg->bind_addr && (cfg->device || cfg->gid_index >= 0)) {
		/* rdma_cm 依 IP 位址選擇裝置:從該裝置的 GID 表找一個 IPv4 位址來綁定 */
		struct ibv_context *dev = ibv_open_device(pick);
		union ibv_gid gid;
		int first = cfg->gid_index >= 0 ? cfg->gid_index : 0;
		int last = cfg->gid_index >= 0 ? cfg->gid_index : 15;

		if (!dev) {
			fprintf(stderr, "錯誤:ibv_open_device(%s) 失敗:%s\n", ibv_get_device_name(pick),
				strerror(errno));
			goto out;
		}
		for (int i = first; i <= last; i++) {
			if (ibv_query_gid(dev, 1, i, &gid))
				continue;
			if (gid.raw[10] == 0xff && gid.raw[11] == 0xff && !gid.raw[0]) {
				struct sockaddr_in *sin = (struct sockaddr_in *)local;

				memset(local, 0, sizeof(*local));
				sin->sin_family = AF_INET;
				memcpy(&sin->sin_addr, &gid.raw[12], 4);
				*have_local = true;
				break;
			}
		}
		ibv_close_device(dev);
		if (!*have_local) {
			if (cfg->gid_index >= 0)
				fprintf(stderr, "錯誤:%s 的 GID index %d 不是 IPv4 對應位址(或不存在);"
					"rxe 上通常是 1,可用 ibv_devinfo -v 查看\n",
					ibv_get_device_name(pick), cfg->gid_index);
			else
				fprintf(stderr, "錯誤:%s 沒有 IPv4 位址(GID 表沒有 ::ffff:a.b.c.d);"
					"請確認它的網路介面有 IP,或用 --bind 指定\n", ibv_get_device_name(pick));
			goto out;
		}
	}
	ret = 0;
out:
	ibv_free_device_list(list);
	return ret;
}

/* ---- rdma_cm 事件 -------------------------------------------------------------- */

/* 等待下一個 rdma_cm 事件,最多 timeout_ms(-1 = 直到 stop);逾時回傳 NULL 且 errno = ETIMEDOUT */
static struct rdma_cm_event *get_event(struct ctx *x, int timeout_ms)
{
	struct rdma_cm_event *ev;
	uint64_t deadline = timeout_ms < 0 ? 0 : now_ns() + (uint64_t)timeout_ms * 1000000ull;

	for (;;) {
		if (!rdma_get_cm_event(x->ec, &ev))
			return ev;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return NULL;
		if (stop) {
			errno = EINTR;
			return NULL;
		}
		int wait = 200;

		if (timeout_ms >= 0) {
			uint64_t t = now_ns();

			if (t >= deadline) {
				errno = ETIMEDOUT;
				return NULL;
			}
			if ((deadline - t) / 1000000 < (uint64_t)wait)
				wait = (int)((deadline - t) / 1000000) + 1;
		}
		struct pollfd pfd = { .fd = x->ec->fd, .events = POLLIN };

		poll(&pfd, 1, wait);
	}
}

/* 伺服器忙碌時拒絕新連線 */
static void reject_busy(struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;

	rdma_reject(id, "BUSY", 4);
	rdma_ack_cm_event(ev);
	rdma_destroy_id(id);
	printf("另一個客戶端想連線:伺服器忙碌中,已拒絕\n");
	fflush(stdout);
}

/* 非阻塞地處理連線期間的 rdma_cm 事件(對方斷線、其他客戶端的連線要求) */
static void check_cm(struct ctx *x)
{
	struct rdma_cm_event *ev;

	while (!rdma_get_cm_event(x->ec, &ev)) {
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
			reject_busy(ev);
			continue;
		}
		if (ev->id == x->c.id && (ev->event == RDMA_CM_EVENT_DISCONNECTED ||
					  ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL))
			x->c.peer_gone = true;
		rdma_ack_cm_event(ev);
	}
}

/* ---- 連線資源 ------------------------------------------------------------------ */

/* 依訊息大小與深度決定 slot 配置(兩端用同樣的規則,所以視窗大小一致) */
static void conn_params(struct conn *c, uint32_t size, uint32_t depth)
{
	c->size = size;
	c->depth = depth;
	c->slots = depth < 4 ? 4 : depth;
	c->slot = ((size < MIN_SLOT ? MIN_SLOT : size) + 63) & ~(size_t)63;
	c->area = c->slot * c->slots;
	/*
	 * 接收端要比送出端的深度多準備 RECV:對方的 SEND 一被確認就會送下一則,
	 * 這邊若還沒把 RECV 補回去,對方會收到 RNR NAK 並等一段 RNR 計時器(可能很久)。
	 * 訊息小時多給 4 倍(perftest 預設 512 個),大時以記憶體為限。
	 */
	c->rslots = c->area * 4 <= (16u << 20) ? c->slots * 4 : c->slots;
	c->rarea = c->slot * c->rslots;
	c->total = 2 * c->area + c->rarea;
}

static char *send_slot(struct conn *c, uint32_t i) { return c->buf + (size_t)(i % c->slots) * c->slot; }
static char *recv_slot(struct conn *c, uint32_t i) { return c->buf + c->area + (size_t)(i % c->rslots) * c->slot; }
static char *win_slot(struct conn *c, uint32_t i) { return c->buf + c->area + c->rarea + (size_t)(i % c->slots) * c->slot; }

static int post_recv(struct conn *c, uint32_t i)
{
	struct ibv_sge sge = {
		.addr = (uintptr_t)recv_slot(c, i),
		.length = (uint32_t)c->slot,
		.lkey = c->mr->lkey,
	};
	struct ibv_recv_wr wr = { .wr_id = i % c->rslots, .sg_list = &sge, .num_sge = 1 }, *bad;
	int ret = ibv_post_recv(c->id->qp, &wr, &bad);

	if (ret)
		fprintf(stderr, "錯誤:ibv_post_recv 失敗:%s\n", strerror(ret));
	return ret ? -1 : 0;
}

/*
 * 建立一條連線需要的資源:PD -> (completion channel) -> CQ -> MR -> QP -> 預先 post RECV。
 * 失敗時由 conn_teardown() 依已建立的部分倒序釋放。
 */
static int conn_setup(struct ctx *x, struct rdma_cm_id *id)
{
	struct conn *c = &x->c;
	struct ibv_qp_init_attr qa;
	struct rlimit rl;
	int cqe = (int)(c->slots + c->rslots + 8);

	c->id = id;
	c->pd = ibv_alloc_pd(id->verbs);
	if (!c->pd) {
		fprintf(stderr, "錯誤:ibv_alloc_pd 失敗:%s\n", strerror(errno));
		return -1;
	}
	/* 伺服器一律建立 completion channel:等客戶端的單邊操作時改用事件,讓出 CPU */
	if (c->event || x->cfg->role == ROLE_SERVER) {
		c->cc = ibv_create_comp_channel(id->verbs);
		if (!c->cc) {
			fprintf(stderr, "錯誤:ibv_create_comp_channel 失敗:%s\n", strerror(errno));
			return -1;
		}
		fcntl(c->cc->fd, F_SETFL, fcntl(c->cc->fd, F_GETFL) | O_NONBLOCK);
	}
	c->cq = ibv_create_cq(id->verbs, cqe, NULL, c->cc, 0);
	if (!c->cq) {
		fprintf(stderr, "錯誤:ibv_create_cq(%d 個 CQE)失敗:%s\n", cqe, strerror(errno));
		return -1;
	}
	if (c->event && ibv_req_notify_cq(c->cq, 0)) {
		fprintf(stderr, "錯誤:ibv_req_notify_cq 失敗\n");
		return -1;
	}
	if (posix_memalign((void **)&c->buf, 4096, c->total)) {
		c->buf = NULL;
		fprintf(stderr, "錯誤:配置 %zu 位元組記憶體失敗\n", c->total);
		return -1;
	}
	memset(c->buf, 0, c->total);
	/* 視窗區開放給對方 RDMA WRITE / READ;本地 RECV 與 READ 的目的地需要 LOCAL_WRITE */
	c->mr = ibv_reg_mr(c->pd, c->buf, c->total,
			   IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ);
	if (!c->mr) {
		int e = errno;

		getrlimit(RLIMIT_MEMLOCK, &rl);
		fprintf(stderr, "錯誤:ibv_reg_mr(%zu 位元組)失敗:%s\n", c->total, strerror(e));
		if (e == ENOMEM || e == EPERM || e == EAGAIN) {
			if (rl.rlim_cur == RLIM_INFINITY)
				fprintf(stderr, "提示:記憶體不足,試著用較小的 --size 或 --depth\n");
			else
				fprintf(stderr,
					"提示:可鎖定的記憶體上限(ulimit -l)太低:目前 %llu KiB,"
					"需要至少 %zu KiB。請執行 ulimit -l unlimited(或在 "
					"/etc/security/limits.conf 設定 memlock),或改以 root 執行,"
					"或減少 --size / --depth\n",
					(unsigned long long)rl.rlim_cur / 1024, c->total / 1024 + 64);
		}
		return -1;
	}
	memset(&qa, 0, sizeof(qa));
	qa.send_cq = c->cq;
	qa.recv_cq = c->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = c->slots + 4;
	qa.cap.max_recv_wr = c->rslots + 4;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	/* 小訊息直接放進 WQE(inline):省掉網卡再讀一次記憶體;不支援的裝置就不用 */
	qa.cap.max_inline_data = 64;
	if (rdma_create_qp(id, c->pd, &qa)) {
		qa.cap.max_inline_data = 0;
		if (rdma_create_qp(id, c->pd, &qa)) {
			fprintf(stderr, "錯誤:rdma_create_qp 失敗:%s\n", strerror(errno));
			return -1;
		}
	}
	c->qp_created = true;
	c->max_inline = qa.cap.max_inline_data;
	c->sig_every = 1;
	for (uint32_t i = 0; i < c->rslots; i++)
		if (post_recv(c, i))
			return -1;
	return 0;
}

/* 倒序拆除(容許只建立了一部分) */
static void conn_teardown(struct ctx *x, bool destroy_id)
{
	struct conn *c = &x->c;

	if (c->qp_created)
		rdma_destroy_qp(c->id);
	if (c->mr)
		ibv_dereg_mr(c->mr);
	free(c->buf);
	if (c->cq) {
		if (c->cq_events_unacked)
			ibv_ack_cq_events(c->cq, c->cq_events_unacked);
		ibv_destroy_cq(c->cq);
	}
	if (c->cc)
		ibv_destroy_comp_channel(c->cc);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (destroy_id && c->id)
		rdma_destroy_id(c->id);
	memset(c, 0, sizeof(*c));
}

/* 正常中斷連線:rdma_disconnect 並等對方的 DISCONNECTED(最多 1 秒) */
static void conn_disconnect(struct ctx *x)
{
	struct conn *c = &x->c;
	struct rdma_cm_event *ev;
	uint64_t deadline = now_ns() + 1000000000ull;

	if (!c->connected)
		return;
	rdma_disconnect(c->id);
	c->connected = false;
	if (c->peer_gone)
		return;
	while (now_ns() < deadline) {
		if (rdma_get_cm_event(x->ec, &ev)) {
			struct pollfd pfd = { .fd = x->ec->fd, .events = POLLIN };

			poll(&pfd, 1, 50);
			continue;
		}
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
			reject_busy(ev);
			continue;
		}
		bool done = ev->id == c->id && ev->event == RDMA_CM_EVENT_DISCONNECTED;

		rdma_ack_cm_event(ev);
		if (done)
			break;
	}
}

/* ---- 資料路徑 ------------------------------------------------------------------ */

/* 處理一個完成的 CQE:更新計數;RECV 完成後立刻把同一個 slot 再 post 回去 */
static int handle_wc(struct ctx *x, struct ibv_wc *wc)
{
	struct conn *c = &x->c;

	if (wc->status == IBV_WC_WR_FLUSH_ERR) {
		/* QP 已進入錯誤狀態(連線中斷):剩下的工作請求被沖掉。先前成功的 CQE 仍然有效 */
		c->peer_gone = true;
		return 0;
	}
	if (wc->status != IBV_WC_SUCCESS) {
		if (!c->peer_gone && !stop)
			fprintf(stderr, "錯誤:CQE 失敗:%s(wr_id %" PRIu64 ",vendor_err 0x%x)%s\n",
				ibv_wc_status_str(wc->status), wc->wr_id, wc->vendor_err,
				wc->status == IBV_WC_RETRY_EXC_ERR || wc->status == IBV_WC_RNR_RETRY_EXC_ERR
					? ":對方沒有回應(離線或當機?)"
				: wc->status == IBV_WC_REM_ACCESS_ERR ? ":對方拒絕存取(rkey 或位址錯誤)"
								      : "");
		c->failed = true;
		return -1;
	}
	switch (wc->opcode) {
	case IBV_WC_SEND:
	case IBV_WC_RDMA_WRITE:
	case IBV_WC_RDMA_READ:
		/* 只有要求 CQE 的 WR 會回報;送出佇列依序完成,所以它之前的 WR 也都完成了 */
		c->completed = wc->wr_id + 1;
		break;
	case IBV_WC_RECV:
	case IBV_WC_RECV_RDMA_WITH_IMM:
		if ((wc->wc_flags & IBV_WC_WITH_IMM) && IS_TOKEN(ntohl(wc->imm_data))) {
			c->last_token = ntohl(wc->imm_data);
			c->tokens++;
		} else {
			c->recvs++;
			c->recv_bytes += wc->byte_len;
			c->last_recv_len = wc->byte_len;
			if (c->test == TEST_DEMO && wc->opcode == IBV_WC_RECV) {
				size_t n = wc->byte_len < sizeof(c->last_msg) - 1 ? wc->byte_len
										   : sizeof(c->last_msg) - 1;

				memcpy(c->last_msg, recv_slot(c, (uint32_t)wc->wr_id), n);
				c->last_msg[n] = '\0';
			}
		}
		return post_recv(c, (uint32_t)wc->wr_id);
	default:
		break;
	}
	return 0;
}

/*
 * 推進一次:輪詢 CQ(忙碌輪詢)或等待完成事件(--event),處理得到的 CQE。
 * 回傳處理的 CQE 數(>= 0),錯誤或對方離線回傳 -1,收到 SIGINT/SIGTERM 回傳 -2。
 */
static int progress(struct ctx *x)
{
	struct conn *c = &x->c;
	struct ibv_wc wc[16];
	int n;

	if (stop)
		return -2;
	if (c->failed)
		return -1;
	/* 對方斷線後也先把 CQ 裡已完成的 CQE 處理完(例如斷線前剛收到的 ACK) */
	n = ibv_poll_cq(c->cq, 16, wc);
	if (n < 0) {
		fprintf(stderr, "錯誤:ibv_poll_cq 失敗\n");
		return -1;
	}
	if (n == 0 && c->peer_gone)
		return -1;
	if (n == 0) {
		if (c->event || c->block) {
			/*
			 * CQ 是空的:等通知。通知在設定時與每次事件後重新要求(req_notify),
			 * 之後下一次 progress() 會再輪詢 CQ,所以兩者之間到達的 CQE 不會被漏掉。
			 */
			struct pollfd pfd[2] = { { .fd = c->cc->fd, .events = POLLIN },
						 { .fd = x->ec->fd, .events = POLLIN } };
			struct ibv_cq *ev_cq;
			void *ev_ctx;

			if (poll(pfd, 2, 100) > 0 && (pfd[0].revents & POLLIN) &&
			    !ibv_get_cq_event(c->cc, &ev_cq, &ev_ctx)) {
				if (++c->cq_events_unacked >= 64) {
					ibv_ack_cq_events(c->cq, c->cq_events_unacked);
					c->cq_events_unacked = 0;
				}
				if (ibv_req_notify_cq(c->cq, 0))
					return -1;
			}
			if (pfd[1].revents & POLLIN)
				check_cm(x);
			return 0;
		} else {
			if ((++x->spins & 4095) == 0)
				check_cm(x);
			return 0;
		}
	}
	for (int i = 0; i < n; i++)
		if (handle_wc(x, &wc[i]))
			return -1;
	return n;
}

/*
 * 等到條件成立;idle_ms > 0 時,超過這麼久沒有任何 CQE 就放棄(對方可能已經不見了)。
 * 結果:0 成立,-1 錯誤 / 對方離線,-2 被中斷,-3 逾時。
 */
#define WAIT_UNTIL(x, cond, idle_ms)                                                           \
	({                                                                                     \
		int _r = 0;                                                                    \
		unsigned _k = 0;                                                               \
		uint64_t _last = (idle_ms) > 0 ? now_ns() : 0;                                 \
		while (!(cond)) {                                                              \
			_r = progress(x);                                                      \
			if (_r < 0)                                                            \
				break;                                                         \
			/* 忙碌輪詢時每 256 圈才讀一次時鐘:VM 裡讀時鐘可能是系統呼叫 */      \
			if ((idle_ms) > 0 && _r > 0) {                                         \
				_last = 0;                                                     \
			} else if ((idle_ms) > 0 && ((x)->c.event || (++_k & 255) == 0)) {     \
				uint64_t _t = now_ns();                                        \
				if (!_last)                                                    \
					_last = _t;                                            \
				else if (_t - _last > (uint64_t)(idle_ms) * 1000000ull) {      \
					_r = -3;                                               \
					break;                                                 \
				}                                                              \
			}                                                                      \
			_r = 0;                                                                \
		}                                                                              \
		_r;                                                                            \
	})

/* post 一個送出端工作請求;送出佇列滿時先等完成 */
static int post_send_wr(struct ctx *x, enum ibv_wr_opcode opc, const void *local, uint32_t len,
			uint64_t remote_off, uint32_t imm)
{
	struct conn *c = &x->c;
	struct ibv_sge sge = { .addr = (uintptr_t)local, .length = len, .lkey = c->mr->lkey };
	struct ibv_send_wr wr = {
		.wr_id = c->posted,
		.sg_list = &sge,
		.num_sge = len ? 1 : 0,
		.opcode = opc,
	}, *bad;
	int ret;

	/*
	 * 選擇性要求 CQE(selective signaling):量測迴圈裡每 sig_every 個 WR 才要一個 CQE,
	 * 少產生與處理 CQE;其他時候(sig_every = 1)每個都要。
	 */
	if (c->sig_every <= 1 || (c->posted + 1) % c->sig_every == 0)
		wr.send_flags |= IBV_SEND_SIGNALED;
	if (len && len <= c->max_inline && opc != IBV_WR_RDMA_READ)
		wr.send_flags |= IBV_SEND_INLINE;
	if (opc == IBV_WR_RDMA_WRITE || opc == IBV_WR_RDMA_READ || opc == IBV_WR_RDMA_WRITE_WITH_IMM) {
		if (remote_off + len > c->peer_len) {
			fprintf(stderr, "錯誤:超出對方視窗(偏移 %" PRIu64 " + %u > %u)\n", remote_off, len,
				c->peer_len);
			return -1;
		}
		wr.wr.rdma.remote_addr = c->peer_addr + remote_off;
		wr.wr.rdma.rkey = c->peer_rkey;
	}
	if (opc == IBV_WR_SEND_WITH_IMM || opc == IBV_WR_RDMA_WRITE_WITH_IMM)
		wr.imm_data = htonl(imm);
	ret = WAIT_UNTIL(x, c->posted - c->completed < c->slots + 2, 0);
	if (ret)
		return ret;
	ret = ibv_post_send(c->id->qp, &wr, &bad);
	if (ret) {
		fprintf(stderr, "錯誤:ibv_post_send 失敗:%s\n", strerror(ret));
		return -1;
	}
	c->posted++;
	return 0;
}

static int send_token(struct ctx *x, uint32_t token)
{
	return post_send_wr(x, IBV_WR_SEND_WITH_IMM, NULL, 0, 0, token);
}

/* 等一個控制訊號(DONE / ACK) */
static int wait_token(struct ctx *x, uint64_t n, int idle_ms)
{
	struct conn *c = &x->c;

	return WAIT_UNTIL(x, c->tokens >= n, idle_ms);
}

/*
 * 伺服器等客戶端的單邊操作(WRITE / READ)結束:這段時間伺服器的 CPU 本來就不參與,
 * 所以改成睡在 completion channel 上,把 CPU 讓給(Soft-RoCE 的)核心處理。
 * 對方可能正在傳很久,不設閒置逾時;對方斷線由 rdma_cm 事件得知。
 */
static int wait_token_sleeping(struct ctx *x, uint64_t n)
{
	struct conn *c = &x->c;
	int r;

	if (!c->cc)
		return wait_token(x, n, 0);
	c->block = true;
	if (ibv_req_notify_cq(c->cq, 0)) {
		fprintf(stderr, "錯誤:ibv_req_notify_cq 失敗\n");
		return -1;
	}
	r = wait_token(x, n, 0);
	c->block = false;
	return r;
}

static const char *wait_err(struct ctx *x, int r)
{
	if (r == -1 && x->c.peer_gone)
		return "對方已中斷連線(行程結束或被中斷)";
	switch (r) {
	case -2: return "被中斷";
	case -3: return "對方太久沒有回應";
	default: return "連線中斷或 CQE 錯誤";
	}
}

/* ---- 統計 ---------------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* 每秒一次的進度列 */
static void tick(uint64_t *next, uint64_t t0, uint64_t done, uint64_t *last_done)
{
	uint64_t t = now_ns();
	char a[32], b[32];

	if (t < *next)
		return;
	printf("[%3.0f 秒] 已完成 %s 則,%s 則/秒\n", (double)(t - t0) / 1e9, commas(done, a, sizeof(a)),
	       commas(done - *last_done, b, sizeof(b)));
	fflush(stdout);
	*last_done = done;
	*next = t + 1000000000ull;
}

/* 記下第 i 個延遲樣本 */
static void record_sample(struct ctx *x, uint64_t i, uint64_t v)
{
	if (i == 0 || v < x->lat_min)
		x->lat_min = v;
	if (v > x->lat_max)
		x->lat_max = v;
	x->lat_sum += (double)v;
	if (i < x->nsamples_cap) {
		x->samples[i] = v;
	} else {
		uint64_t j = ((uint64_t)random() << 31 | (uint64_t)random()) % (i + 1);

		if (j < x->nsamples_cap)
			x->samples[j] = v;
	}
}

static void report_lat(struct ctx *x, uint64_t n, uint64_t wall, uint64_t cpu, bool halve, const char *status)
{
	struct conn *c = &x->c;
	uint64_t *s = x->samples, k = n < x->nsamples_cap ? n : x->nsamples_cap;
	double div = halve ? 2000.0 : 1000.0;

	if (n == 0) {
		printf("SUMMARY role=client test=lat op=%s size=%u iters=0 event=%d status=%s\n", op_names[c->op],
		       c->size, c->event, status);
		return;
	}
	qsort(s, k, sizeof(*s), cmp_u64);
	double mn = x->lat_min / div, p50 = s[k / 2] / div, p99 = s[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1] / div;
	double mx = x->lat_max / div, avg = x->lat_sum / n / div;
	double cpu_per = (double)cpu / n, pct = wall ? 100.0 * cpu / wall : 0;

	printf("延遲(%s,%u 位元組,%" PRIu64 " 次,%s):\n", op_names[c->op], c->size, n,
	       halve ? "單程 = 來回 / 2,同 perftest" : "一次 READ 的完整來回");
	printf("  最小 %.2f µs、p50(典型)%.2f µs、p99 %.2f µs、最大 %.2f µs、平均 %.2f µs\n", mn, p50, p99, mx,
	       avg);
	printf("  CPU:%.1f ms(%.0f%%,%s),每則 %.0f ns\n", cpu / 1e6, pct, c->event ? "等待完成事件" : "忙碌輪詢",
	       cpu_per);
	printf("SUMMARY role=client test=lat op=%s size=%u iters=%" PRIu64 " event=%d min_us=%.2f p50_us=%.2f "
	       "p99_us=%.2f max_us=%.2f avg_us=%.2f cpu_ns=%.0f cpu_pct=%.0f status=%s\n",
	       op_names[c->op], c->size, n, c->event, mn, p50, p99, mx, avg, cpu_per, pct, status);
}

static void report_bw(struct ctx *x, uint64_t n, uint64_t wall, uint64_t cpu, const char *status)
{
	struct conn *c = &x->c;
	double secs = wall / 1e9, bytes = (double)n * c->size;
	double mbps = secs > 0 ? bytes / secs / 1048576.0 : 0, gbps = secs > 0 ? bytes * 8 / secs / 1e9 : 0;
	double rate = secs > 0 ? n / secs : 0, cpu_per = n ? (double)cpu / n : 0;
	double pct = wall ? 100.0 * cpu / wall : 0;
	char a[32];

	printf("頻寬(%s,%u 位元組,%" PRIu64 " 則,佇列深度 %u):%.2f MB/s(%.3f Gb/s),%s 則/秒\n",
	       op_names[c->op], c->size, n, c->depth, mbps, gbps, commas((uint64_t)rate, a, sizeof(a)));
	printf("  CPU:%.1f ms(%.0f%%,%s),每則 %.0f ns\n", cpu / 1e6, pct, c->event ? "等待完成事件" : "忙碌輪詢",
	       cpu_per);
	printf("SUMMARY role=client test=bw op=%s size=%u iters=%" PRIu64 " depth=%u event=%d mbps=%.2f gbps=%.3f "
	       "msg_rate=%.0f cpu_ns=%.0f cpu_pct=%.0f status=%s\n",
	       op_names[c->op], c->size, n, c->depth, c->event, mbps, gbps, rate, cpu_per, pct, status);
}

/* ---- 各種測試(客戶端) --------------------------------------------------------- */

static int client_demo(struct ctx *x)
{
	struct conn *c = &x->c;
	size_t wlen = sizeof(WRITE_TEXT);
	int r;

	/* 1. 雙邊:SEND 問候,等伺服器的 SEND 回覆 */
	strcpy(send_slot(c, 0), GREETING);
	printf("步驟 1:SEND 問候給伺服器(%zu 位元組):%s\n", sizeof(GREETING), GREETING);
	if ((r = post_send_wr(x, IBV_WR_SEND, send_slot(c, 0), sizeof(GREETING), 0, 0)))
		goto fail;
	if ((r = WAIT_UNTIL(x, c->recvs >= 1 && c->completed >= 1, PEER_IDLE_MS)))
		goto fail;
	printf("步驟 2:收到伺服器的回覆(RECV %u 位元組):%s\n", c->last_recv_len, c->last_msg);

	/* 2. 單邊:WRITE 到伺服器視窗,再 READ 回來比對 */
	memcpy(send_slot(c, 1), WRITE_TEXT, wlen);
	printf("步驟 3:RDMA WRITE %zu 位元組到伺服器記憶體(addr 0x%" PRIx64 ",rkey 0x%x)\n", wlen,
	       c->peer_addr, c->peer_rkey);
	if ((r = post_send_wr(x, IBV_WR_RDMA_WRITE, send_slot(c, 1), (uint32_t)wlen, 0, 0)))
		goto fail;
	if ((r = WAIT_UNTIL(x, c->completed >= 2, PEER_IDLE_MS)))
		goto fail;
	memset(win_slot(c, 0), 0, wlen);
	printf("步驟 4:RDMA READ 把同一塊伺服器記憶體讀回來\n");
	if ((r = post_send_wr(x, IBV_WR_RDMA_READ, win_slot(c, 0), (uint32_t)wlen, 0, 0)))
		goto fail;
	if ((r = WAIT_UNTIL(x, c->completed >= 3, PEER_IDLE_MS)))
		goto fail;
	bool ok = !memcmp(win_slot(c, 0), WRITE_TEXT, wlen);

	printf("步驟 5:比對讀回的內容:%s\n", ok ? "一致,WRITE/READ 驗證成功" : "不一致!WRITE/READ 驗證失敗");
	if (!ok)
		printf("  讀回:%.*s\n", (int)wlen, win_slot(c, 0));

	/* 3. 告訴伺服器結束,等它確認(附上它看到的記憶體內容是否正確) */
	if ((r = send_token(x, TOKEN_DONE)) || (r = wait_token(x, 1, PEER_IDLE_MS)))
		goto fail;
	bool server_ok = c->last_token == TOKEN_ACK_OK;

	printf("步驟 6:伺服器確認它的記憶體內容%s\n", server_ok ? "正確" : "不正確");
	printf("SUMMARY role=client test=demo verify=%s server_verify=%s status=ok\n", ok ? "ok" : "fail",
	       server_ok ? "ok" : "fail");
	return ok && server_ok ? 0 : -1;
fail:
	fprintf(stderr, "錯誤:示範中止:%s\n", wait_err(x, r));
	printf("SUMMARY role=client test=demo verify=fail status=%s\n", r == -2 ? "interrupted" : "error");
	return -1;
}

/* 延遲:ping-pong(send / write)或連續 READ */
static int client_lat(struct ctx *x)
{
	struct conn *c = &x->c;
	uint32_t size = c->size;
	bool imm = c->op == OP_WRITE && c->event;
	uint64_t t0, c0, i, next, last = 0;
	volatile uint8_t *flag = (volatile uint8_t *)win_slot(c, 0) + size - 1;
	int r = 0;

	x->nsamples_cap = c->iters < MAX_SAMPLES ? c->iters : MAX_SAMPLES;
	x->samples = calloc(x->nsamples_cap, sizeof(uint64_t));
	if (!x->samples) {
		fprintf(stderr, "錯誤:配置延遲樣本陣列失敗\n");
		return -1;
	}
	memset(send_slot(c, 0), 'a', size);
	printf("延遲測試:%s,%u 位元組,%u 次,%s\n", op_names[c->op], size, c->iters,
	       c->event ? "等待完成事件" : "忙碌輪詢");
	fflush(stdout);
	t0 = now_ns();
	c0 = cpu_ns();
	next = t0 + 1000000000ull;
	for (i = 0; i < c->iters; i++) {
		uint64_t s = now_ns();
		uint8_t seq = (uint8_t)(i % 255 + 1);

		/* READ 每次都要等完成;ping-pong 則等對方的回應就夠了,最後一個一定要求 CQE */
		c->sig_every = c->op == OP_READ || i + 1 == c->iters ? 1 : c->slots / 2;
		switch (c->op) {
		case OP_SEND:
			r = post_send_wr(x, IBV_WR_SEND, send_slot(c, 0), size, 0, 0);
			if (!r)
				r = WAIT_UNTIL(x, c->recvs >= i + 1, PEER_IDLE_MS);
			break;
		case OP_WRITE:
			/* 最後一個位元組當作序號;對方看到它變了就寫回來 */
			((uint8_t *)send_slot(c, 0))[size - 1] = seq;
			r = post_send_wr(x, imm ? IBV_WR_RDMA_WRITE_WITH_IMM : IBV_WR_RDMA_WRITE, send_slot(c, 0),
					 size, 0, seq);
			if (!r && imm)
				r = WAIT_UNTIL(x, c->recvs >= i + 1, PEER_IDLE_MS);
			else if (!r)
				r = WAIT_UNTIL(x, *flag == seq, PEER_IDLE_MS);
			break;
		case OP_READ:
			r = post_send_wr(x, IBV_WR_RDMA_READ, win_slot(c, 0), size, 0, 0);
			if (!r)
				r = WAIT_UNTIL(x, c->completed >= c->posted, PEER_IDLE_MS);
			break;
		}
		if (r)
			break;
		record_sample(x, i, now_ns() - s);
		tick(&next, t0, i + 1, &last);
	}
	uint64_t wall = now_ns() - t0, cpu = cpu_ns() - c0;

	c->sig_every = 1;
	if (r) {
		fprintf(stderr, "錯誤:延遲測試在第 %" PRIu64 " 次中止:%s\n", i + 1, wait_err(x, r));
		report_lat(x, i, wall, cpu, c->op != OP_READ, r == -2 ? "interrupted" : "error");
		return -1;
	}
	if ((r = send_token(x, TOKEN_DONE)) || (r = wait_token(x, 1, PEER_IDLE_MS))) {
		fprintf(stderr, "錯誤:等待伺服器確認失敗:%s\n", wait_err(x, r));
		return -1;
	}
	report_lat(x, i, wall, cpu, c->op != OP_READ, "ok");
	return 0;
}

/* 頻寬:維持 depth 個未完成的工作請求 */
static int client_bw(struct ctx *x)
{
	struct conn *c = &x->c;
	enum ibv_wr_opcode opc = c->op == OP_SEND ? IBV_WR_SEND : c->op == OP_WRITE ? IBV_WR_RDMA_WRITE
										    : IBV_WR_RDMA_READ;
	uint64_t base_done = c->completed, sent = 0, t0, c0, next, last = 0;
	int r = 0;

	memset(c->buf, 'b', c->area);
	printf("頻寬測試:%s,%u 位元組,%u 則,佇列深度 %u,%s\n", op_names[c->op], c->size, c->iters, c->depth,
	       c->event ? "等待完成事件" : "忙碌輪詢");
	fflush(stdout);
	t0 = now_ns();
	c0 = cpu_ns();
	next = t0 + 1000000000ull;
	while (c->completed - base_done < c->iters) {
		while (sent < c->iters && c->posted - c->completed < c->depth) {
			uint32_t s = (uint32_t)(sent % c->slots);
			void *local = c->op == OP_READ ? win_slot(c, s) : send_slot(c, s);

			c->sig_every = sent + 1 == c->iters ? 1 : (c->depth >= 4 ? c->depth / 4 : 1);
			r = post_send_wr(x, opc, local, c->size, (uint64_t)s * c->slot, 0);
			if (r)
				goto out;
			sent++;
		}
		r = progress(x);
		if (r < 0)
			goto out;
		if (r > 0)
			tick(&next, t0, c->completed - base_done, &last);
		r = 0;
	}
out:;
	uint64_t wall = now_ns() - t0, cpu = cpu_ns() - c0, n = c->completed - base_done;

	c->sig_every = 1;
	if (r) {
		fprintf(stderr, "錯誤:頻寬測試中止:%s\n", wait_err(x, r));
		report_bw(x, n, wall, cpu, r == -2 ? "interrupted" : "error");
		return -1;
	}
	if ((r = send_token(x, TOKEN_DONE)) || (r = wait_token(x, 1, PEER_IDLE_MS))) {
		fprintf(stderr, "錯誤:等待伺服器確認失敗:%s\n", wait_err(x, r));
		return -1;
	}
	report_bw(x, n, wall, cpu, "ok");
	return 0;
}

/* ---- 伺服器端的一個工作階段 ---------------------------------------------------- */

static int serve_session(struct ctx *x)
{
	struct conn *c = &x->c;
	uint64_t t0 = now_ns();
	int r = 0;

	switch (c->test) {
	case TEST_DEMO: {
		if ((r = WAIT_UNTIL(x, c->recvs >= 1, PEER_IDLE_MS)))
			break;
		printf("  收到客戶端的 SEND(%u 位元組):%s\n", c->last_recv_len, c->last_msg);
		strcpy(send_slot(c, 0), REPLY);
		printf("  以 SEND 回覆:%s\n", REPLY);
		fflush(stdout);
		if ((r = post_send_wr(x, IBV_WR_SEND, send_slot(c, 0), sizeof(REPLY), 0, 0)))
			break;
		printf("  等待客戶端的 RDMA WRITE / READ(伺服器 CPU 不參與,只等結束訊號)…\n");
		fflush(stdout);
		if ((r = wait_token_sleeping(x, 1)))
			break;
		bool ok = !memcmp(win_slot(c, 0), WRITE_TEXT, sizeof(WRITE_TEXT));

		printf("  客戶端寫進來的記憶體內容:%.*s\n", (int)sizeof(WRITE_TEXT), win_slot(c, 0));
		printf("  伺服器端驗證:%s\n", ok ? "內容正確" : "內容不正確!");
		r = send_token(x, ok ? TOKEN_ACK_OK : TOKEN_ACK_BAD);
		if (!r)
			r = WAIT_UNTIL(x, c->completed >= c->posted, PEER_IDLE_MS);
		break;
	}
	case TEST_LAT:
		if (c->op == OP_SEND) {
			for (uint64_t i = 0; i < c->iters && !r; i++) {
				c->sig_every = i + 1 == c->iters ? 1 : c->slots / 2;
				r = WAIT_UNTIL(x, c->recvs >= i + 1, PEER_IDLE_MS);
				if (!r)
					r = post_send_wr(x, IBV_WR_SEND, send_slot(c, 0), c->size, 0, 0);
			}
		} else if (c->op == OP_WRITE) {
			volatile uint8_t *flag = (volatile uint8_t *)win_slot(c, 0) + c->size - 1;
			bool imm = c->event;

			for (uint64_t i = 0; i < c->iters && !r; i++) {
				uint8_t seq = (uint8_t)(i % 255 + 1);

				c->sig_every = i + 1 == c->iters ? 1 : c->slots / 2;
				if (imm)
					r = WAIT_UNTIL(x, c->recvs >= i + 1, PEER_IDLE_MS);
				else
					r = WAIT_UNTIL(x, *flag == seq, PEER_IDLE_MS);
				((uint8_t *)send_slot(c, 0))[c->size - 1] = seq;
				if (!r)
					r = post_send_wr(x, imm ? IBV_WR_RDMA_WRITE_WITH_IMM : IBV_WR_RDMA_WRITE,
							 send_slot(c, 0), c->size, 0, seq);
			}
		}
		c->sig_every = 1;
		if (!r)
			r = c->op == OP_READ ? wait_token_sleeping(x, 1) : wait_token(x, 1, PEER_IDLE_MS);
		if (!r)
			r = send_token(x, TOKEN_ACK_OK);
		break;
	case TEST_BW:
		/* 雙邊 SEND 要即時把 RECV 補回去(忙碌輪詢);單邊 WRITE / READ 時伺服器睡著等 */
		if ((r = c->op == OP_SEND ? wait_token(x, 1, 0) : wait_token_sleeping(x, 1)))
			break;
		if (c->op == OP_SEND) {
			double secs = (now_ns() - t0) / 1e9;

			printf("  收到 %" PRIu64 " 則 SEND,%.2f MB(含等待時間的平均 %.2f MB/s)\n", c->recvs,
			       c->recv_bytes / 1048576.0, secs > 0 ? c->recv_bytes / 1048576.0 / secs : 0);
		}
		r = send_token(x, TOKEN_ACK_OK);
		break;
	}
	if (!r)
		r = WAIT_UNTIL(x, c->completed >= c->posted, PEER_IDLE_MS);
	return r;
}

/* ---- 客戶端 / 伺服器主流程 ------------------------------------------------------ */

/* 等一個特定的 rdma_cm 事件;把錯誤事件翻成中文說明 */
static int expect_event(struct ctx *x, enum rdma_cm_event_type want, uint64_t deadline, const char *peer,
			struct welcome *wel)
{
	struct rdma_cm_event *ev;
	int64_t left = (int64_t)(deadline - now_ns()) / 1000000;

	ev = get_event(x, left > 0 ? (int)left : 0);
	if (!ev) {
		if (errno == ETIMEDOUT)
			fprintf(stderr, "錯誤:無法在 %d 秒內連上伺服器 %s:%d(等待 %s 逾時)。"
				"請確認伺服器已啟動、位址與埠正確,而且兩端的 RDMA 裝置在同一個網路上\n",
				CONNECT_TIMEOUT_MS / 1000, peer, x->cfg->port, rdma_event_str(want));
		else if (errno == EINTR)
			fprintf(stderr, "被中斷(連線建立中)\n");
		else
			fprintf(stderr, "錯誤:rdma_get_cm_event 失敗:%s\n", strerror(errno));
		return -1;
	}
	if (ev->event == want) {
		if (wel && ev->param.conn.private_data && ev->param.conn.private_data_len >= sizeof(*wel))
			memcpy(wel, ev->param.conn.private_data, sizeof(*wel));
		rdma_ack_cm_event(ev);
		return 0;
	}
	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_ERROR:
		fprintf(stderr, "錯誤:無法解析位址 %s(%s,status %d)。請確認這台機器有路由到它的介面,"
			"且該介面上有 RDMA 裝置(ibv_devices、rdma link)\n",
			peer, rdma_event_str(ev->event), ev->status);
		break;
	case RDMA_CM_EVENT_ROUTE_ERROR:
		fprintf(stderr, "錯誤:找不到到 %s 的 RDMA 路由(%s,status %d)\n", peer,
			rdma_event_str(ev->event), ev->status);
		break;
	case RDMA_CM_EVENT_REJECTED:
		if (ev->param.conn.private_data_len >= 4 && !memcmp(ev->param.conn.private_data, "BUSY", 4))
			fprintf(stderr, "錯誤:伺服器 %s:%d 正在服務另一個客戶端,拒絕了連線;請稍後再試\n",
				peer, x->cfg->port);
		else
			fprintf(stderr, "錯誤:連線被拒絕:%s 的埠 %d 沒有 RDMA 伺服器在監聽"
				"(或不接受這個要求,status %d)。請先啟動 rdma_communication server\n",
				peer, x->cfg->port, ev->status);
		break;
	case RDMA_CM_EVENT_UNREACHABLE:
		fprintf(stderr, "錯誤:伺服器 %s:%d 無法連線(UNREACHABLE,status %d)\n", peer, x->cfg->port,
			ev->status);
		break;
	default:
		fprintf(stderr, "錯誤:預期 %s,卻收到 %s(status %d)\n", rdma_event_str(want),
			rdma_event_str(ev->event), ev->status);
	}
	rdma_ack_cm_event(ev);
	return -1;
}

static int run_client(struct ctx *x)
{
	struct config *cfg = x->cfg;
	struct conn *c = &x->c;
	struct sockaddr_storage dst, src;
	struct rdma_cm_id *id = NULL;
	struct rdma_conn_param cp;
	struct hello h;
	struct welcome w;
	bool have_src;
	uint64_t deadline;
	char ip[INET6_ADDRSTRLEN];
	int ret = 1;

	if (parse_addr(cfg->server, cfg->port, &dst, "伺服器位址"))
		return 64;
	if (cfg->bind_addr && parse_addr(cfg->bind_addr, 0, &src, "--bind 位址"))
		return 64;
	if (check_devices(x, &src, &have_src))
		return 1;
	have_src = have_src || cfg->bind_addr;

	x->ec = rdma_create_event_channel();
	if (!x->ec) {
		fprintf(stderr, "錯誤:rdma_create_event_channel 失敗:%s(/dev/infiniband/rdma_cm 存在嗎?"
			"需要 rdma_ucm 模組)\n", strerror(errno));
		return 1;
	}
	fcntl(x->ec->fd, F_SETFL, fcntl(x->ec->fd, F_GETFL) | O_NONBLOCK);
	if (rdma_create_id(x->ec, &id, NULL, RDMA_PS_TCP)) {
		fprintf(stderr, "錯誤:rdma_create_id 失敗:%s\n", strerror(errno));
		goto out_channel;
	}
	deadline = now_ns() + CONNECT_TIMEOUT_MS * 1000000ull;
	printf("連線到 %s:%d…\n", cfg->server, cfg->port);
	fflush(stdout);
	/* 1. 位址解析:決定用哪個 RDMA 裝置(依來源 / 目的 IP) */
	if (rdma_resolve_addr(id, have_src ? (struct sockaddr *)&src : NULL, (struct sockaddr *)&dst,
			      RESOLVE_TIMEOUT_MS)) {
		fprintf(stderr, "錯誤:rdma_resolve_addr(%s)失敗:%s。請確認該位址經由有 RDMA 裝置的介面可達"
			"(rdma link 看 rxe 綁在哪個介面)\n", cfg->server, strerror(errno));
		goto out_id;
	}
	if (expect_event(x, RDMA_CM_EVENT_ADDR_RESOLVED, deadline, cfg->server, NULL))
		goto out_id;
	print_device(x, id->verbs, id->port_num, rdma_get_local_addr(id));
	if (cfg->device && strcmp(cfg->device, ibv_get_device_name(id->verbs->device))) {
		fprintf(stderr, "錯誤:到 %s 的路徑走的是裝置 %s,不是 --device 指定的 %s;"
			"rdma_cm 依 IP 選擇裝置,請用 --bind 指定 %s 所在介面的位址\n", cfg->server,
			ibv_get_device_name(id->verbs->device), cfg->device, cfg->device);
		goto out_id;
	}
	/* 2. 路由解析 */
	if (rdma_resolve_route(id, RESOLVE_TIMEOUT_MS)) {
		fprintf(stderr, "錯誤:rdma_resolve_route 失敗:%s\n", strerror(errno));
		goto out_id;
	}
	if (expect_event(x, RDMA_CM_EVENT_ROUTE_RESOLVED, deadline, cfg->server, NULL))
		goto out_id;
	/* 3. PD、CQ、MR、QP */
	c->test = cfg->test;
	c->op = cfg->op;
	c->iters = cfg->iters;
	c->event = cfg->event;
	conn_params(c, cfg->size, cfg->depth);
	if (conn_setup(x, id))
		goto out_conn;
	/* 4. connect:hello 放在 private data */
	h = (struct hello){
		.magic = htonl(HELLO_MAGIC), .version = htonl(PROTO_VERSION),
		.test = (uint8_t)cfg->test, .op = (uint8_t)cfg->op, .event = cfg->event,
		.size = htonl(cfg->size), .iters = htonl(cfg->iters), .depth = htonl(cfg->depth),
		.win_len = htonl((uint32_t)c->area), .rkey = htonl(c->mr->rkey),
		.win_addr = htonll((uintptr_t)win_slot(c, 0)),
	};
	memset(&cp, 0, sizeof(cp));
	cp.private_data = &h;
	cp.private_data_len = sizeof(h);
	cp.responder_resources = 16;
	cp.initiator_depth = 16;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7; /* 對方的 RECV 還沒 post 時無限重試 */
	if (rdma_connect(id, &cp)) {
		fprintf(stderr, "錯誤:rdma_connect 失敗:%s\n", strerror(errno));
		goto out_conn;
	}
	memset(&w, 0, sizeof(w));
	if (expect_event(x, RDMA_CM_EVENT_ESTABLISHED, deadline, cfg->server, &w))
		goto out_conn;
	c->connected = true;
	if (ntohl(w.magic) != HELLO_MAGIC) {
		fprintf(stderr, "錯誤:伺服器的回應不是本程式的協定(magic 不符)\n");
		goto out_disconnect;
	}
	c->peer_addr = ntohll(w.win_addr);
	c->peer_rkey = ntohl(w.rkey);
	c->peer_len = ntohl(w.win_len);
	printf("已連線:%s -> %s:%d,QP 0x%x;伺服器視窗 addr 0x%" PRIx64 ",%u 位元組,rkey 0x%x\n",
	       addr_str(rdma_get_local_addr(id), ip, sizeof(ip)), cfg->server, cfg->port, id->qp->qp_num,
	       c->peer_addr, c->peer_len, c->peer_rkey);
	fflush(stdout);

	switch (cfg->test) {
	case TEST_DEMO:
		ret = client_demo(x) ? 1 : 0;
		break;
	case TEST_LAT:
		ret = client_lat(x) ? 1 : 0;
		break;
	case TEST_BW:
		ret = client_bw(x) ? 1 : 0;
		break;
	}
	if (stop)
		ret = 0; /* 使用者中斷:已印出部分結果,正常結束 */
out_disconnect:
	conn_disconnect(x);
	printf("已中斷連線\n");
out_conn:
	conn_teardown(x, false);
out_id:
	rdma_destroy_id(id);
out_channel:
	rdma_destroy_event_channel(x->ec);
	free(x->samples);
	return ret;
}

/* 驗證客戶端的 hello;不合法回傳錯誤說明 */
static const char *check_hello(const struct hello *h, uint8_t len)
{
	if (len < sizeof(*h) || ntohl(h->magic) != HELLO_MAGIC)
		return "不是本程式的客戶端(magic 不符)";
	if (ntohl(h->version) != PROTO_VERSION)
		return "協定版本不同";
	if (h->test > TEST_BW || h->op > OP_READ)
		return "不認得的測試種類";
	if (!ntohl(h->size) || ntohl(h->size) > MAX_SIZE || !ntohl(h->depth) || ntohl(h->depth) > MAX_DEPTH ||
	    !ntohl(h->iters) || ntohl(h->iters) > MAX_ITERS)
		return "大小 / 深度 / 次數超出範圍";
	return NULL;
}

/* 處理一個連線要求:配置資源、accept、執行工作階段、拆除 */
static void serve_client(struct ctx *x, struct rdma_cm_event *ev)
{
	struct config *cfg = x->cfg;
	struct conn *c = &x->c;
	struct rdma_cm_id *id = ev->id;
	struct hello h;
	struct welcome w;
	struct rdma_conn_param cp;
	const char *bad;
	char ip[INET6_ADDRSTRLEN];
	uint64_t t0 = now_ns();
	int r;

	memset(&h, 0, sizeof(h));
	if (ev->param.conn.private_data)
		memcpy(&h, ev->param.conn.private_data,
		       ev->param.conn.private_data_len < sizeof(h) ? ev->param.conn.private_data_len : sizeof(h));
	bad = check_hello(&h, ev->param.conn.private_data_len);
	addr_str(rdma_get_peer_addr(id), ip, sizeof(ip));
	x->clients++;
	if (bad) {
		printf("客戶端 #%" PRIu64 "(%s)的連線要求無效:%s,已拒絕\n", x->clients, ip, bad);
		rdma_reject(id, NULL, 0);
		rdma_ack_cm_event(ev);
		rdma_destroy_id(id);
		return;
	}
	rdma_ack_cm_event(ev);
	print_device(x, id->verbs, id->port_num, rdma_get_local_addr(id));
	c->test = h.test;
	c->op = h.op;
	c->event = cfg->event || h.event;
	c->iters = ntohl(h.iters);
	conn_params(c, ntohl(h.size), ntohl(h.depth));
	c->peer_addr = ntohll(h.win_addr);
	c->peer_rkey = ntohl(h.rkey);
	c->peer_len = ntohl(h.win_len);
	if (c->test == TEST_DEMO)
		printf("客戶端 #%" PRIu64 " 從 %s 連入:示範(問候 + WRITE/READ 驗證)\n", x->clients, ip);
	else
		printf("客戶端 #%" PRIu64 " 從 %s 連入:測試 %s,操作 %s,%u 位元組 × %u 次,深度 %u%s\n", x->clients,
		       ip, test_names[c->test], op_names[c->op], c->size, c->iters, c->depth,
		       c->event ? ",事件模式" : "");
	fflush(stdout);
	if (conn_setup(x, id)) {
		rdma_reject(id, NULL, 0);
		goto out;
	}
	w = (struct welcome){ .magic = htonl(HELLO_MAGIC), .win_len = htonl((uint32_t)c->area),
			      .rkey = htonl(c->mr->rkey), .win_addr = htonll((uintptr_t)win_slot(c, 0)) };
	memset(&cp, 0, sizeof(cp));
	cp.private_data = &w;
	cp.private_data_len = sizeof(w);
	cp.responder_resources = 16;
	cp.initiator_depth = 16;
	cp.retry_count = 7;
	cp.rnr_retry_count = 7;
	if (rdma_accept(id, &cp)) {
		fprintf(stderr, "錯誤:rdma_accept 失敗:%s\n", strerror(errno));
		goto out;
	}
	/* 等 ESTABLISHED;期間別的連線要求一律拒絕 */
	for (;;) {
		struct rdma_cm_event *e = get_event(x, 5000);

		if (!e) {
			printf("客戶端 #%" PRIu64 " 沒有完成連線(%s)\n", x->clients,
			       errno == ETIMEDOUT ? "逾時" : "被中斷");
			goto out;
		}
		if (e->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
			reject_busy(e);
			continue;
		}
		enum rdma_cm_event_type t = e->event;
		bool mine = e->id == id;

		rdma_ack_cm_event(e);
		if (!mine)
			continue;
		if (t == RDMA_CM_EVENT_ESTABLISHED)
			break;
		printf("客戶端 #%" PRIu64 " 連線失敗:%s\n", x->clients, rdma_event_str(t));
		goto out;
	}
	c->connected = true;
	printf("  已建立連線,伺服器視窗 addr 0x%" PRIx64 ",%zu 位元組,rkey 0x%x\n", (uint64_t)(uintptr_t)win_slot(c, 0),
	       c->area, c->mr->rkey);
	fflush(stdout);
	r = serve_session(x);
	if (r == 0) {
		x->clients_ok++;
		printf("客戶端 #%" PRIu64 " 完成(%.2f 秒),繼續等待下一個客戶端\n", x->clients,
		       (now_ns() - t0) / 1e9);
	} else if (r == -2) {
		printf("伺服器被中斷,結束與客戶端 #%" PRIu64 " 的連線\n", x->clients);
	} else {
		x->clients_lost++;
		printf("客戶端 #%" PRIu64 " 中途離線或出錯(%s),清理後繼續等待下一個客戶端\n", x->clients,
		       c->peer_gone ? "對方已斷線" : wait_err(x, r));
	}
out:
	conn_disconnect(x);
	conn_teardown(x, true);
	fflush(stdout);
}

static int run_server(struct ctx *x)
{
	struct config *cfg = x->cfg;
	struct sockaddr_storage addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&addr;
	bool have_local;
	char ip[INET6_ADDRSTRLEN];
	int ret = 1;

	memset(&addr, 0, sizeof(addr));
	if (cfg->bind_addr && parse_addr(cfg->bind_addr, cfg->port, &addr, "--bind 位址"))
		return 64;
	if (check_devices(x, &addr, &have_local))
		return 1;
	if (!cfg->bind_addr && !have_local)
		sin->sin_family = AF_INET; /* 0.0.0.0:所有 RDMA 裝置 */
	if (addr.ss_family == AF_INET)
		sin->sin_port = htons((uint16_t)cfg->port);
	else
		((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)cfg->port);

	x->ec = rdma_create_event_channel();
	if (!x->ec) {
		fprintf(stderr, "錯誤:rdma_create_event_channel 失敗:%s(需要 rdma_ucm 模組)\n", strerror(errno));
		return 1;
	}
	fcntl(x->ec->fd, F_SETFL, fcntl(x->ec->fd, F_GETFL) | O_NONBLOCK);
	if (rdma_create_id(x->ec, &x->listen_id, NULL, RDMA_PS_TCP)) {
		fprintf(stderr, "錯誤:rdma_create_id 失敗:%s\n", strerror(errno));
		goto out_channel;
	}
	if (rdma_bind_addr(x->listen_id, (struct sockaddr *)&addr)) {
		int e = errno;

		fprintf(stderr, "錯誤:rdma_bind_addr(%s:%d)失敗:%s%s\n", addr_str((struct sockaddr *)&addr, ip, sizeof(ip)),
			cfg->port, strerror(e),
			e == EADDRINUSE ? "(埠已被使用:換一個 --port)"
			: e == EADDRNOTAVAIL ? "(這個位址不在任何有 RDMA 裝置的介面上)" : "");
		goto out_id;
	}
	if (rdma_listen(x->listen_id, 8)) {
		fprintf(stderr, "錯誤:rdma_listen 失敗:%s\n", strerror(errno));
		goto out_id;
	}
	if (x->listen_id->verbs)
		print_device(x, x->listen_id->verbs, x->listen_id->port_num, (struct sockaddr *)&addr);
	printf("伺服器在 %s:%d 等待客戶端(Ctrl-C 結束%s)…\n", addr_str((struct sockaddr *)&addr, ip, sizeof(ip)),
	       cfg->port, cfg->once ? ",服務一個客戶端後結束" : "");
	fflush(stdout);
	ret = 0;
	while (!stop) {
		struct rdma_cm_event *ev = get_event(x, -1);

		if (!ev) {
			if (errno != EINTR) {
				fprintf(stderr, "錯誤:rdma_get_cm_event 失敗:%s\n", strerror(errno));
				ret = 1;
			}
			break;
		}
		if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
			serve_client(x, ev);
			if (cfg->once)
				break;
			continue;
		}
		rdma_ack_cm_event(ev);
	}
	printf("伺服器結束:共 %" PRIu64 " 個客戶端,%" PRIu64 " 個完成,%" PRIu64 " 個中途離線\n", x->clients,
	       x->clients_ok, x->clients_lost);
	printf("SUMMARY role=server clients=%" PRIu64 " ok=%" PRIu64 " lost=%" PRIu64 " status=%s\n", x->clients,
	       x->clients_ok, x->clients_lost, ret ? "error" : "ok");
out_id:
	rdma_destroy_id(x->listen_id);
out_channel:
	rdma_destroy_event_channel(x->ec);
	return ret;
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct ctx x = { .cfg = &cfg };
	struct sigaction sa = { .sa_handler = on_signal };

	parse_args(argc, argv, &cfg);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return cfg.role == ROLE_SERVER ? run_server(&x) : run_client(&x);
}
