// SPDX-License-Identifier: MIT
/*
 * bench/echo_bench.c — TCP echo 伺服器的負載產生器(io_uring_async 與 epoll_echo 共用)
 *
 * N 條連線,每條同時最多 D 個未回應的訊息(D=1 即 ping-pong),訊息大小 S
 * (或 MIN-MAX 之間的隨機大小)。每個訊息的內容由(連線、序號、位移)決定,
 * 收到的每個位元組都會核對;延遲 = 訊息開始寫入到完整收回的時間。
 * 先暖身 W 秒,再量測 T 秒;或以 --count 讓每條連線送固定數量後結束。
 *
 * 單執行緒 epoll;請用 --cpu 把它和伺服器釘在不同 CPU 上。
 *
 * 用法:
 *   bench/echo_bench -p 12345 -c 50 -s 128 -d 1 -w 1 -t 5
 *   bench/echo_bench -p 12345 -c 200 -s 1-65536 -n 20      # 隨機大小,每條 20 個
 * 輸出:req/s、MB/s、p50/p90/p99/p99.9/max 延遲、錯誤數,以及一行 SUMMARY。
 * 任何位元組不符、連線中斷或逾時都算錯誤,有錯誤時結束碼為 1。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define MAX_DEPTH 4096
#define NBUCKETS (32 + 40 * 32)

struct config {
	const char *host;
	int port;
	unsigned conns;
	unsigned size_min, size_max;
	unsigned depth;
	double warmup, duration;
	unsigned long count; /* 每條連線的訊息數;0 = 以時間為準 */
	int cpu;
	bool quiet;
};

struct conn {
	int fd;
	unsigned id;
	uint64_t send_seq; /* 下一個要寫的訊息 */
	uint32_t send_off; /* 目前訊息已寫出的位元組 */
	uint64_t recv_seq; /* 下一個要收完的訊息 */
	uint32_t recv_off;
	uint64_t *t_start; /* 以序號 % depth 索引:開始寫入的時間(未回應數 <= depth,不會重疊) */
	bool want_out;
	bool dead;
};

struct ctx {
	struct config cfg;
	struct conn *conns;
	int ep;
	unsigned char *wbuf, *rbuf;
	bool measuring, sending;
	uint64_t msgs, bytes, errors, timeouts;
	uint64_t all_msgs; /* 含暖身與收尾 */
	uint64_t hist[NBUCKETS];
	uint64_t lat_max;
	unsigned alive;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* ---- 訊息內容與大小:由(連線, 序號)決定,雙方不必保存 ---- */
static uint32_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return (uint32_t)x;
}

static uint32_t msg_size(const struct ctx *c, unsigned id, uint64_t seq)
{
	if (c->cfg.size_min == c->cfg.size_max)
		return c->cfg.size_min;
	return c->cfg.size_min + mix(((uint64_t)id << 40) ^ seq) % (c->cfg.size_max - c->cfg.size_min + 1);
}

static inline unsigned char msg_byte(unsigned id, uint64_t seq, uint32_t off)
{
	return (unsigned char)(id * 131u + (unsigned)seq * 17u + off * 7u + (off >> 8));
}

/* ---- 延遲直方圖(對數-線性,約 3% 精度) ---- */
static unsigned bucket_of(uint64_t v)
{
	if (v < 32)
		return (unsigned)v;
	unsigned m = 63u - (unsigned)__builtin_clzll(v);
	unsigned idx = 32 + (m - 5) * 32 + (unsigned)((v >> (m - 5)) & 31);
	return idx < NBUCKETS ? idx : NBUCKETS - 1;
}

static uint64_t bucket_value(unsigned idx)
{
	if (idx < 32)
		return idx;
	unsigned m = (idx - 32) / 32 + 5, sub = (idx - 32) % 32;
	return (uint64_t)(32 + sub) << (m - 5);
}

static double percentile_us(const struct ctx *c, double p)
{
	uint64_t total = 0, acc = 0;

	for (unsigned i = 0; i < NBUCKETS; i++)
		total += c->hist[i];
	if (!total)
		return 0;
	uint64_t want = (uint64_t)(p * (double)total);
	if (want >= total)
		want = total - 1;
	for (unsigned i = 0; i < NBUCKETS; i++) {
		acc += c->hist[i];
		if (acc > want)
			return (double)bucket_value(i) / 1000.0;
	}
	return (double)c->lat_max / 1000.0;
}

/* ---- 選項 ---- */
static double parse_secs(const char *s, const char *name)
{
	char *end;
	double v = strtod(s, &end);

	if (end == s || *end || v < 0 || v > 3600) {
		fprintf(stderr, "錯誤:%s 必須是 0 到 3600 的秒數,得到「%s」\n", name, s);
		exit(EXIT_USAGE);
	}
	return v;
}

static void usage(const char *prog)
{
	printf("用法:%s [選項]\n"
	       "TCP echo 負載產生器:核對每個回來的位元組,量測吞吐量與延遲。\n\n"
	       "  -H, --host 位址        伺服器 IPv4 或 IPv6 位址(預設 127.0.0.1)\n"
	       "  -p, --port 埠          伺服器埠(預設 12345)\n"
	       "  -c, --conns N          連線數(預設 1)\n"
	       "  -s, --size S|MIN-MAX   訊息大小,或隨機大小範圍(預設 128)\n"
	       "  -d, --depth D          每條連線未回應訊息上限,1 = ping-pong(預設 1,最多 %d)\n"
	       "  -w, --warmup 秒        暖身時間(預設 1)\n"
	       "  -t, --duration 秒      量測時間(預設 5);搭配 --count 時是逾時上限\n"
	       "  -n, --count N          每條連線送 N 個訊息後結束\n"
	       "      --cpu N            把本程式釘在 CPU N\n"
	       "  -q, --quiet            只印 SUMMARY 行\n"
	       "  -h, --help             顯示這份說明\n",
	       prog, MAX_DEPTH);
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },   { "port", required_argument, NULL, 'p' },
		{ "conns", required_argument, NULL, 'c' },  { "size", required_argument, NULL, 's' },
		{ "depth", required_argument, NULL, 'd' },  { "warmup", required_argument, NULL, 'w' },
		{ "duration", required_argument, NULL, 't' }, { "count", required_argument, NULL, 'n' },
		{ "cpu", required_argument, NULL, 'C' },    { "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },	    { NULL, 0, NULL, 0 },
	};
	struct in_addr a;
	struct in6_addr a6;
	int c;

	*cfg = (struct config){ .host = "127.0.0.1", .port = 12345, .conns = 1, .size_min = 128, .size_max = 128,
				.depth = 1, .warmup = 1, .duration = 5, .cpu = -1 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "H:p:c:s:d:w:t:n:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'H':
			if (inet_pton(AF_INET, optarg, &a) != 1 && inet_pton(AF_INET6, optarg, &a6) != 1) {
				fprintf(stderr, "錯誤:--host 需要 IPv4 或 IPv6 位址,得到「%s」\n", optarg);
				exit(EXIT_USAGE);
			}
			cfg->host = optarg;
			break;
		case 'p':
			cfg->port = parse_num(optarg, "--port", 1, 65535);
			break;
		case 'c':
			cfg->conns = parse_num(optarg, "--conns", 1, 100000);
			break;
		case 's': {
			char *dash = strchr(optarg, '-');
			if (dash) {
				*dash = '\0';
				cfg->size_min = parse_num(optarg, "--size 下限", 1, 16 << 20);
				cfg->size_max = parse_num(dash + 1, "--size 上限", cfg->size_min, 16 << 20);
			} else {
				cfg->size_min = cfg->size_max = parse_num(optarg, "--size", 1, 16 << 20);
			}
			break;
		}
		case 'd':
			cfg->depth = parse_num(optarg, "--depth", 1, MAX_DEPTH);
			break;
		case 'w':
			cfg->warmup = parse_secs(optarg, "--warmup");
			break;
		case 't':
			cfg->duration = parse_secs(optarg, "--duration");
			break;
		case 'n':
			cfg->count = parse_num(optarg, "--count", 1, 1ul << 40);
			break;
		case 'C':
			cfg->cpu = (int)parse_num(optarg, "--cpu", 0, 4095);
			break;
		case 'q':
			cfg->quiet = true;
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		default:
			fprintf(stderr, "錯誤:不認得的選項或缺少參數「%s」(--help 看說明)\n", argv[optind - 1]);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc) {
		fprintf(stderr, "錯誤:多餘的參數「%s」\n", argv[optind]);
		exit(EXIT_USAGE);
	}
}

/* ---- 連線與資料路徑 ---- */
static void conn_fail(struct ctx *c, struct conn *cn, const char *why)
{
	if (cn->dead)
		return;
	if (c->errors < 5)
		fprintf(stderr, "錯誤:連線 %u:%s(已收 %llu 個訊息)\n", cn->id, why,
			(unsigned long long)cn->recv_seq);
	c->errors++;
	cn->dead = true;
	c->alive--;
	epoll_ctl(c->ep, EPOLL_CTL_DEL, cn->fd, NULL);
	close(cn->fd);
	cn->fd = -1;
}

static bool conn_done(const struct ctx *c, const struct conn *cn)
{
	return c->cfg.count && cn->recv_seq >= c->cfg.count;
}

static void set_out(struct ctx *c, struct conn *cn, bool want)
{
	if (cn->want_out == want || cn->dead)
		return;
	struct epoll_event ev = { .events = EPOLLIN | (want ? EPOLLOUT : 0), .data.ptr = cn };
	cn->want_out = want;
	epoll_ctl(c->ep, EPOLL_CTL_MOD, cn->fd, &ev);
}

/* 在深度允許下盡量寫 */
static void pump_out(struct ctx *c, struct conn *cn)
{
	/* 停止送新訊息後,仍要把寫到一半的訊息寫完,否則收尾時會誤判逾時 */
	while (!cn->dead && (c->sending || cn->send_off) && cn->send_seq - cn->recv_seq < c->cfg.depth &&
	       (!c->cfg.count || cn->send_seq < c->cfg.count)) {
		uint32_t size = msg_size(c, cn->id, cn->send_seq);
		/* 一次最多填 64 KiB;同一批連續訊息可以合併成一次 write */
		size_t len = 0;
		uint64_t seq = cn->send_seq;
		uint32_t off = cn->send_off;
		uint64_t t = now_ns();
		while (len < 65536 && seq - cn->recv_seq < c->cfg.depth && (!c->cfg.count || seq < c->cfg.count) &&
		       (c->sending || seq == cn->send_seq)) {
			uint32_t sz = seq == cn->send_seq ? size : msg_size(c, cn->id, seq);
			if (off == 0)
				cn->t_start[seq % c->cfg.depth] = t;
			while (off < sz && len < 65536)
				c->wbuf[len++] = msg_byte(cn->id, seq, off++);
			if (off < sz)
				break;
			seq++;
			off = 0;
		}
		ssize_t n = send(cn->fd, c->wbuf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN) {
				set_out(c, cn, true);
				return;
			}
			conn_fail(c, cn, strerror(errno));
			return;
		}
		/* 依實際寫出的量推進(n 可能小於 len) */
		size_t left = (size_t)n;
		while (left) {
			uint32_t sz = msg_size(c, cn->id, cn->send_seq);
			uint32_t rem = sz - cn->send_off;
			if (left >= rem) {
				left -= rem;
				cn->send_seq++;
				cn->send_off = 0;
			} else {
				cn->send_off += (uint32_t)left;
				left = 0;
			}
		}
		if ((size_t)n < len) {
			set_out(c, cn, true);
			return;
		}
	}
	set_out(c, cn, false);
}

static void on_input(struct ctx *c, struct conn *cn)
{
	for (;;) {
		ssize_t n = recv(cn->fd, c->rbuf, 65536, 0);
		if (n < 0) {
			if (errno == EAGAIN)
				break;
			conn_fail(c, cn, strerror(errno));
			return;
		}
		if (n == 0) {
			conn_fail(c, cn, "伺服器關閉了連線");
			return;
		}
		if (cn->send_seq == cn->recv_seq && cn->send_off == 0) {
			conn_fail(c, cn, "收到沒有送出的資料");
			return;
		}
		uint64_t t = now_ns();
		for (ssize_t i = 0; i < n; i++) {
			if (cn->recv_seq > cn->send_seq ||
			    (cn->recv_seq == cn->send_seq && cn->recv_off >= cn->send_off)) {
				conn_fail(c, cn, "收到比送出更多的資料");
				return;
			}
			if (c->rbuf[i] != msg_byte(cn->id, cn->recv_seq, cn->recv_off)) {
				char why[96];
				snprintf(why, sizeof(why), "訊息 %llu 第 %u 位元組不符", (unsigned long long)cn->recv_seq,
					 cn->recv_off);
				conn_fail(c, cn, why);
				return;
			}
			if (++cn->recv_off == msg_size(c, cn->id, cn->recv_seq)) {
				if (c->measuring) {
					uint64_t lat = t - cn->t_start[cn->recv_seq % c->cfg.depth];
					c->hist[bucket_of(lat)]++;
					if (lat > c->lat_max)
						c->lat_max = lat;
					c->msgs++;
					c->bytes += cn->recv_off;
				}
				cn->recv_seq++;
				cn->recv_off = 0;
				c->all_msgs++;
			}
		}
		if (n < 65536)
			break;
	}
	pump_out(c, cn);
}

static int connect_all(struct ctx *c)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *sa = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sa6 = (struct sockaddr_in6 *)&ss;
	int family = strchr(c->cfg.host, ':') ? AF_INET6 : AF_INET;
	socklen_t slen = family == AF_INET6 ? sizeof(*sa6) : sizeof(*sa);

	if (family == AF_INET6) {
		sa6->sin6_family = AF_INET6;
		sa6->sin6_port = htons((uint16_t)c->cfg.port);
		inet_pton(AF_INET6, c->cfg.host, &sa6->sin6_addr);
	} else {
		sa->sin_family = AF_INET;
		sa->sin_port = htons((uint16_t)c->cfg.port);
		inet_pton(AF_INET, c->cfg.host, &sa->sin_addr);
	}
	for (unsigned i = 0; i < c->cfg.conns; i++) {
		struct conn *cn = &c->conns[i];
		int one = 1;

		cn->id = i;
		cn->t_start = calloc(c->cfg.depth, sizeof(*cn->t_start));
		if (!cn->t_start) {
			fprintf(stderr, "錯誤:記憶體不足\n");
			return -1;
		}
		cn->fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (cn->fd < 0) {
			fprintf(stderr, "錯誤:socket() 失敗(第 %u 條):%s%s\n", i, strerror(errno),
				errno == EMFILE ? ",提高 ulimit -n" : "");
			return -1;
		}
		if (connect(cn->fd, (struct sockaddr *)&ss, slen) < 0) {
			fprintf(stderr, "錯誤:連線到 %s:%d 失敗(第 %u 條):%s\n", c->cfg.host, c->cfg.port, i,
				strerror(errno));
			close(cn->fd);
			cn->fd = -1;
			return -1;
		}
		setsockopt(cn->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		fcntl(cn->fd, F_SETFL, fcntl(cn->fd, F_GETFL) | O_NONBLOCK);
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = cn };
		epoll_ctl(c->ep, EPOLL_CTL_ADD, cn->fd, &ev);
		c->alive++;
	}
	return 0;
}

static void run_for(struct ctx *c, uint64_t until_ns, bool drain)
{
	struct epoll_event evs[256];

	while (!stop_flag && now_ns() < until_ns && c->alive) {
		if (c->cfg.count || drain) {
			bool all = true;
			for (unsigned i = 0; i < c->cfg.conns && all; i++) {
				struct conn *cn = &c->conns[i];
				if (cn->dead)
					continue;
				if (drain ? cn->recv_seq != cn->send_seq || cn->send_off : !conn_done(c, cn))
					all = false;
			}
			if (all)
				return;
		}
		int n = epoll_wait(c->ep, evs, 256, 50);
		for (int i = 0; i < n; i++) {
			struct conn *cn = evs[i].data.ptr;
			if (cn->dead)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				on_input(c, cn);
			if (!cn->dead && (evs[i].events & EPOLLOUT))
				pump_out(c, cn);
		}
	}
}

int main(int argc, char **argv)
{
	struct ctx c = { .ep = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct rlimit rl;
	int rc = 1;

	parse_args(argc, argv, &c.cfg);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (c.cfg.cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(c.cfg.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			fprintf(stderr, "注意:無法釘在 CPU %d:%s\n", c.cfg.cpu, strerror(errno));
	}
	getrlimit(RLIMIT_NOFILE, &rl);
	rl.rlim_cur = rl.rlim_max;
	setrlimit(RLIMIT_NOFILE, &rl);

	c.conns = calloc(c.cfg.conns, sizeof(*c.conns));
	c.wbuf = malloc(65536);
	c.rbuf = malloc(65536);
	c.ep = epoll_create1(EPOLL_CLOEXEC);
	if (!c.conns || !c.wbuf || !c.rbuf || c.ep < 0) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		goto out;
	}
	for (unsigned i = 0; i < c.cfg.conns; i++)
		c.conns[i].fd = -1;
	if (connect_all(&c))
		goto out;

	c.sending = true;
	for (unsigned i = 0; i < c.cfg.conns; i++)
		pump_out(&c, &c.conns[i]);
	if (!c.cfg.count && c.cfg.warmup > 0)
		run_for(&c, now_ns() + (uint64_t)(c.cfg.warmup * 1e9), false);

	c.measuring = true;
	uint64_t t0 = now_ns();
	run_for(&c, t0 + (uint64_t)(c.cfg.duration * 1e9), false);
	uint64_t t1 = now_ns();
	double secs = (double)(t1 - t0) / 1e9;
	c.sending = false;
	/* 收回還在路上的訊息(最多 10 秒),收不到的算逾時錯誤 */
	run_for(&c, now_ns() + 10000000000ull, true);
	for (unsigned i = 0; i < c.cfg.conns; i++) {
		struct conn *cn = &c.conns[i];
		if (cn->dead)
			continue;
		if (cn->recv_seq != cn->send_seq || cn->send_off || (c.cfg.count && !conn_done(&c, cn))) {
			c.timeouts++;
			conn_fail(&c, cn, c.cfg.count && !conn_done(&c, cn) ? "時間內沒有完成 --count" : "回應逾時");
		}
	}
	if (stop_flag)
		fprintf(stderr, "注意:被中斷,結果只涵蓋已完成的部分\n");

	double p50 = percentile_us(&c, 0.50), p90 = percentile_us(&c, 0.90), p99 = percentile_us(&c, 0.99),
	       p999 = percentile_us(&c, 0.999), mx = (double)c.lat_max / 1000.0;
	double rps = secs > 0 ? (double)c.msgs / secs : 0, mbs = secs > 0 ? (double)c.bytes / secs / 1e6 : 0;
	if (!c.cfg.quiet) {
		char sizes[48];
		if (c.cfg.size_min == c.cfg.size_max)
			snprintf(sizes, sizeof(sizes), "%u", c.cfg.size_min);
		else
			snprintf(sizes, sizeof(sizes), "%u-%u(隨機)", c.cfg.size_min, c.cfg.size_max);
		printf("連線 %u,訊息 %s 位元組,深度 %u,量測 %.2f 秒\n", c.cfg.conns, sizes, c.cfg.depth, secs);
		printf("  吞吐量  %.0f 請求/秒,%.2f MB/秒(共 %llu 個訊息,全部逐位元組核對)\n", rps, mbs,
		       (unsigned long long)c.msgs);
		printf("  延遲 µs p50 %.1f  p90 %.1f  p99 %.1f  p99.9 %.1f  max %.1f\n", p50, p90, p99, p999, mx);
		printf("  錯誤    %llu(逾時 %llu)\n", (unsigned long long)c.errors, (unsigned long long)c.timeouts);
	}
	printf("SUMMARY prog=echo_bench conns=%u size=%u-%u depth=%u msgs=%llu secs=%.3f req_s=%.0f mb_s=%.3f "
	       "p50_us=%.2f p90_us=%.2f p99_us=%.2f p999_us=%.2f max_us=%.2f errors=%llu all_msgs=%llu\n",
	       c.cfg.conns, c.cfg.size_min, c.cfg.size_max, c.cfg.depth, (unsigned long long)c.msgs, secs, rps, mbs,
	       p50, p90, p99, p999, mx, (unsigned long long)c.errors, (unsigned long long)c.all_msgs);
	rc = (c.errors || !c.msgs) ? 1 : 0;
out:
	if (c.conns)
		for (unsigned i = 0; i < c.cfg.conns; i++)
		{
			if (c.conns[i].fd >= 0)
				close(c.conns[i].fd);
			free(c.conns[i].t_start);
		}
	free(c.conns);
	free(c.wbuf);
	free(c.rbuf);
	if (c.ep >= 0)
		close(c.ep);
	return rc;
}
