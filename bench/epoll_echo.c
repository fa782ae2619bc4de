// SPDX-License-Identifier: MIT
/*
 * bench/epoll_echo.c — 傳統基準:單執行緒、非阻塞、epoll 的 TCP echo 伺服器
 *
 * 與 io_uring_async 有相同的語意與公平規則,讓比較公平(一個 epoll 專家會這樣寫):
 *   - TCP_NODELAY 設在監聽 socket 上,accept 出來的連線繼承(不必每條連線一次 setsockopt)
 *   - 可讀時讀到 socket 空為止:每次 recv 要整塊剩下的空間(最多 16 × --buffer-size),短讀就表示讀完了,
 *     不再多一次 EAGAIN 的 recv;讀到的全部用一次 send 送回(有待送時接在後面一起送),送不完的放進
 *     這條連線的待送區,等 EPOLLOUT
 *   - 背壓:待送 + 一個緩衝區 > --conn-buffer(預設 64 KiB)就關掉 EPOLLIN,送到一半以下才恢復
 *   - 全部連線的待送合計上限 --max-output(預設 64 MiB),用完時關閉「送出停住最久」的連線
 *     (hold 串列最前面;一直在讀的連線總在尾巴附近),不是待送最多的
 *   - 連線數 --max-conns 滿了時,閒置最久(至少 1 秒)的連線讓位給新連線(act 串列最前面);
 *     同一個來源位址最多 --max-per-addr 條(預設 --max-conns 的一半)
 *   - 半關閉:read 回 0 後把待送資料送完再關閉
 *   - 閒置逾時:超過 --idle-timeout 秒(預設 60)沒有任何位元組進出的連線被關閉;每個這樣的視窗裡
 *     收送不到 --min-progress 位元組(預設 1 KiB)的也關閉(慢速攻擊)
 *   - 監聽 [::](IPV6_V6ONLY 關掉:IPv4 與 IPv6 都接受),--bind 可以是 IPv4 或 IPv6
 *   - SIGINT/SIGTERM:停止接受;不再回應新資料(讀掉丟棄,免得 close 變成 RST),待送送完後
 *     shutdown(SHUT_WR),等對方 EOF 再關閉;最多等 5 秒
 *   - 自己計算系統呼叫次數(SUMMARY 的 syscalls),效能比較算「每個請求幾次系統呼叫」
 *
 * 用法:bench/epoll_echo [--bind 位址] [--buffer-size N] [--conn-buffer N] [--max-output N]
 *                        [--max-conns N] [--idle-timeout 秒] [--min-progress N] [--sock-buffer N]
 *                        [--max-per-addr N] [--quiet] [埠]
 * SIGINT/SIGTERM:印出總結與 SUMMARY 行後以 0 結束。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
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

#define MAX_EVENTS 256
#define MAX_READS 16 /* 一次可讀事件最多讀幾次(公平:別讓一條連線霸佔迴圈) */
#define YIELD_MIN_NS 1000000000ull /* 連線數滿了時,閒置至少這麼久的連線才讓位(與 io_uring_async 相同) */

/* 每個系統呼叫都經過這裡計數 */
#define SYS(c, call) ((c)->syscalls++, (call))

struct config {
	const char *bind_addr;
	int port;
	unsigned buf_size;
	size_t conn_buffer, max_output;
	unsigned max_conns, max_per_addr;
	unsigned idle_timeout;
	uint64_t min_progress;
	unsigned sock_buffer;
	bool quiet;
};

/* 依時間排序的雙向串列(最舊的在 head),與 io_uring_async 的公平規則相同 */
struct link {
	struct link *prev, *next;
};
struct lru {
	struct link *head, *tail;
};
#define conn_of(ptr, member) ((struct conn *)((char *)(ptr) - offsetof(struct conn, member)))

struct conn {
	int fd;
	bool peer_eof;
	bool reading; /* EPOLLIN 是否開著 */
	bool writing; /* EPOLLOUT 是否開著 */
	bool shut_sent; /* 結束中:已 shutdown(SHUT_WR) */
	uint64_t last_active;	/* ns:最後一次有位元組進出 */
	uint64_t last_progress; /* ns:最後一次送出有進展,或開始有待送 */
	struct lru *hold_list;	/* hold_new(對端從沒讀過)或 hold(讀過);NULL = 沒有待送 */
	bool blocked;		/* 送出塞住過(EAGAIN 或只送出一部分) */
	bool progressed;	/* 塞住之後又送出去了:對端讀過 */
	uint64_t window_start, window_bytes; /* --min-progress 的視窗 */
	struct link act, hold;	/* act:全部連線依閒置;hold:有待送的連線依送出進展 */
	uint64_t peer_hi, peer_lo; /* 來源位址(IPv4 位址,IPv6 的 /64) */
	unsigned char *pend;
	size_t pend_off, pend_len;
	struct conn *next_dead; /* 已關閉、這批事件處理完才釋放 */
};

struct ctx {
	struct config cfg;
	int ep, listen_fd;
	struct conn **conns;
	unsigned nslots, active;
	unsigned char *buf;
	size_t buf_cap;
	size_t out_bytes; /* 全部連線的待送合計 */
	uint64_t accepted, rejected, yielded, evicted, timeouts, slow, msgs, bytes_in, bytes_out, errors, throttles, syscalls;
	uint64_t now_ns; /* 每輪迴圈讀一次時鐘 */
	struct lru act, hold_new, hold;
	struct peer {
		uint64_t hi, lo; /* 全零 = 空格 */
		uint32_t conns;
	} *peers; /* 每個來源位址的連線數(開放定址,容量 2 的次方) */
	uint32_t peers_mask;
	const char *bind_name; /* 實際監聽的位址 */
	struct timespec start;
	time_t last_emfile_msg;
	bool accept_paused;
	bool draining; /* 收到結束訊號 */
	struct conn *dead; /* 這批事件裡關閉的連線:同一批裡可能還有它的事件(epoll_event.data.ptr 指著它) */
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void lru_remove(struct lru *l, struct link *k)
{
	if (!k->prev && l->head != k)
		return; /* 不在串列上 */
	if (k->prev)
		k->prev->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
}

static void lru_touch(struct lru *l, struct link *k)
{
	lru_remove(l, k);
	k->prev = l->tail;
	if (l->tail)
		l->tail->next = k;
	else
		l->head = k;
	l->tail = k;
}

static void conn_active(struct ctx *c, struct conn *cn, size_t n)
{
	cn->last_active = c->now_ns;
	cn->window_bytes += n;
	lru_touch(&c->act, &cn->act);
}

/* 來源位址表:與 io_uring_async 相同(IPv4 位址;IPv6 取 /64) */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void peer_key(const struct sockaddr_storage *ss, uint64_t *hi, uint64_t *lo)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
		uint64_t w[2];
		memcpy(w, &a6->sin6_addr, 16);
		if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
			*hi = 4;
			*lo = w[1] >> 32 | 1ull << 40;
		} else {
			*hi = 6;
			*lo = w[0];
		}
	} else {
		*hi = 4;
		*lo = ((const struct sockaddr_in *)ss)->sin_addr.s_addr | 1ull << 40;
	}
}

static uint32_t peer_find(struct ctx *c, uint64_t hi, uint64_t lo)
{
	uint32_t i = (uint32_t)mix64(hi ^ lo) & c->peers_mask;

	while (c->peers[i].hi && (c->peers[i].hi != hi || c->peers[i].lo != lo))
		i = (i + 1) & c->peers_mask;
	return i;
}

static void peer_put(struct ctx *c, uint64_t hi, uint64_t lo)
{
	uint32_t i = peer_find(c, hi, lo);

	if (!c->peers[i].hi || --c->peers[i].conns)
		return;
	for (uint32_t j = (i + 1) & c->peers_mask; c->peers[j].hi; j = (j + 1) & c->peers_mask) {
		uint32_t home = (uint32_t)mix64(c->peers[j].hi ^ c->peers[j].lo) & c->peers_mask;
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			c->peers[i] = c->peers[j];
			i = j;
		}
	}
	c->peers[i] = (struct peer){ 0 };
}

static size_t parse_size(const char *s, const char *name, size_t min, size_t max)
{
	char tmp[64];
	size_t len = strlen(s), mul = 1;

	if (len && len < sizeof(tmp) && (s[len - 1] == 'K' || s[len - 1] == 'M')) {
		mul = s[len - 1] == 'K' ? 1024 : 1024 * 1024;
		memcpy(tmp, s, len - 1);
		tmp[len - 1] = '\0';
		s = tmp;
	}
	return parse_num(s, name, (min + mul - 1) / mul, max / mul) * mul;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	static const struct option longopts[] = {
		{ "bind", required_argument, NULL, 'a' },	   { "buffer-size", required_argument, NULL, 's' },
		{ "conn-buffer", required_argument, NULL, 'b' }, { "max-output", required_argument, NULL, 'o' },
		{ "max-conns", required_argument, NULL, 'c' },	   { "quiet", no_argument, NULL, 'Q' },
		{ "idle-timeout", required_argument, NULL, 'i' }, { "min-progress", required_argument, NULL, 'm' },
		{ "sock-buffer", required_argument, NULL, 'k' },
		{ "max-per-addr", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },		   { NULL, 0, NULL, 0 },
	};
	struct in_addr a;
	struct in6_addr a6;
	bool per_addr_set = false;
	int c;

	*cfg = (struct config){ .bind_addr = NULL, .port = 12345, .buf_size = 4096, .conn_buffer = 64 << 10,
				.max_output = 64 << 20, .max_conns = 16384, .idle_timeout = 60, .min_progress = 1024 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "a:s:b:o:c:i:m:k:p:Qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &a) != 1 && inet_pton(AF_INET6, optarg, &a6) != 1) {
				fprintf(stderr, "錯誤:--bind 需要 IPv4 或 IPv6 位址,得到「%s」\n", optarg);
				exit(EXIT_USAGE);
			}
			cfg->bind_addr = optarg;
			break;
		case 's':
			cfg->buf_size = (unsigned)parse_num(optarg, "--buffer-size", 64, 1 << 16);
			break;
		case 'b':
			cfg->conn_buffer = parse_size(optarg, "--conn-buffer", 4096, 64 << 20);
			break;
		case 'o':
			cfg->max_output = parse_size(optarg, "--max-output", 65536, (size_t)16 << 30);
			break;
		case 'c':
			cfg->max_conns = (unsigned)parse_num(optarg, "--max-conns", 1, 1 << 20);
			break;
		case 'i':
			cfg->idle_timeout = (unsigned)parse_num(optarg, "--idle-timeout", 0, 86400);
			break;
		case 'p':
			cfg->max_per_addr = (unsigned)parse_num(optarg, "--max-per-addr", 0, 1 << 20);
			per_addr_set = true;
			break;
		case 'k':
			cfg->sock_buffer = (unsigned)parse_size(optarg, "--sock-buffer", 0, 64 << 20);
			break;
		case 'm':
			cfg->min_progress = parse_size(optarg, "--min-progress", 0, (size_t)1 << 30);
			break;
		case 'Q':
			cfg->quiet = true;
			break;
		case 'h':
			printf("用法:%s [--bind 位址] [--buffer-size N] [--conn-buffer N] [--max-output N] [--max-conns N] "
			       "[--idle-timeout 秒] [--min-progress N] [--sock-buffer N] [--max-per-addr N] [--quiet] [埠]\n"
			       "epoll echo 伺服器(io_uring_async 的傳統基準),埠預設 12345,監聽 [::](IPv4 與 IPv6)。\n"
			       "記憶體上限:每條連線待送 <= --conn-buffer(預設 64K)+ 一個緩衝區,合計 <= --max-output(預設 64M);\n"
			       "合計用完時關閉送出停住最久的連線。連線數 --max-conns(預設 16384)滿了時閒置最久(>= 1 秒)的讓位。\n"
			       "超過 --idle-timeout 秒(預設 60;0 = 不限)沒有任何位元組進出、或這段時間收送不到\n"
			       "--min-progress 位元組(預設 1K;0 = 不檢查)的連線被關閉。\n"
			       "--sock-buffer:每條連線的 SO_SNDBUF/SO_RCVBUF(預設 0 = 核心自動調整)。\n"
			       "--max-per-addr:同一個來源位址(IPv4 位址,IPv6 的 /64)最多幾條連線(預設 --max-conns 的一半,0 = 不限)。\n",
			       argv[0]);
			exit(0);
		default:
			fprintf(stderr, "錯誤:不認得的選項或缺少參數「%s」(--help 看說明)\n", argv[optind - 1]);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		cfg->port = (int)parse_num(argv[optind++], "埠", 1, 65535);
	if (optind < argc) {
		fprintf(stderr, "錯誤:多餘的參數「%s」\n", argv[optind]);
		exit(EXIT_USAGE);
	}
	if (!per_addr_set)
		cfg->max_per_addr = cfg->max_conns > 1 ? cfg->max_conns / 2 : 1;
	if (cfg->conn_buffer < cfg->buf_size || cfg->max_output < cfg->conn_buffer) {
		fprintf(stderr, "錯誤:需要 --buffer-size <= --conn-buffer <= --max-output\n");
		exit(EXIT_USAGE);
	}
}

static void set_events(struct ctx *c, struct conn *cn)
{
	struct epoll_event ev = { .data.ptr = cn };

	ev.events = (cn->reading ? EPOLLIN | EPOLLRDHUP : 0) | (cn->writing ? EPOLLOUT : 0);
	SYS(c, epoll_ctl(c->ep, EPOLL_CTL_MOD, cn->fd, &ev));
}

/*
 * 關閉連線。struct conn 先不釋放:逐出別條連線時,同一批 epoll_wait 的結果裡可能還有它的事件,
 * 處理到時以 fd < 0 認出來跳過;這批處理完才由 free_dead() 釋放。
 */
static void conn_close(struct ctx *c, struct conn *cn)
{
	SYS(c, close(cn->fd)); /* close 也會把它從 epoll 拿掉 */
	peer_put(c, cn->peer_hi, cn->peer_lo);
	lru_remove(&c->act, &cn->act);
	if (cn->hold_list)
		lru_remove(cn->hold_list, &cn->hold);
	cn->hold_list = NULL;
	c->conns[cn->fd] = NULL;
	c->active--;
	c->out_bytes -= cn->pend_len;
	free(cn->pend);
	cn->pend = NULL;
	cn->pend_len = 0;
	cn->fd = -1;
	cn->next_dead = c->dead;
	c->dead = cn;
}

/* 被逐出的連線以 RST 關閉:待送本來就要丟,一般 close 會留下對著零視窗重試的孤兒 socket */
static void conn_reset(struct ctx *c, struct conn *cn)
{
	static const struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	SYS(c, setsockopt(cn->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)));
	conn_close(c, cn);
}

static void free_dead(struct ctx *c)
{
	while (c->dead) {
		struct conn *cn = c->dead;
		c->dead = cn->next_dead;
		free(cn);
	}
}

/* 送出待送區(一次 send);回傳 -1 表示連線已關閉 */
static int flush_pending(struct ctx *c, struct conn *cn)
{
	if (!cn->pend_len)
		return 0;
	ssize_t n = SYS(c, send(cn->fd, cn->pend + cn->pend_off, cn->pend_len, MSG_NOSIGNAL));
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		if (errno != EPIPE && errno != ECONNRESET)
			c->errors++;
		conn_close(c, cn);
		return -1;
	}
	c->bytes_out += (uint64_t)n;
	c->out_bytes -= (size_t)n;
	cn->pend_off += (size_t)n;
	cn->pend_len -= (size_t)n;
	if (n > 0) {
		conn_active(c, cn, (size_t)n);
		if (cn->blocked && !cn->progressed) { /* 塞住後又送出去:對端讀過,搬到 hold */
			cn->progressed = true;
			if (cn->hold_list)
				lru_remove(cn->hold_list, &cn->hold);
			cn->hold_list = &c->hold;
		}
		if (cn->progressed && cn->hold_list) {
			cn->last_progress = c->now_ns;
			lru_touch(&c->hold, &cn->hold);
		}
	}
	if (cn->pend_len)
		cn->blocked = true; /* socket 滿了 */
	if (!cn->pend_len) { /* 送完:不佔記憶體 */
		free(cn->pend);
		cn->pend = NULL;
		cn->pend_off = 0;
		if (cn->hold_list)
			lru_remove(cn->hold_list, &cn->hold);
		cn->hold_list = NULL;
	}
	return 0;
}

/*
 * 全部待送到上限:關閉送出停住最久的另一條連線(與 io_uring_async 相同的規則)。先找從沒讀過的
 * (hold_new,最早開始排隊的優先);要空間的連線自己還沒讀過時,只能關停住至少 STALL_MIN_NS 的;
 * 讀過的連線可以關 hold_new 裡任何一條,再沒有才關讀過但最久沒進展的(hold 最前面)。
 * 找不到回傳 false,由呼叫者關掉要空間的連線。
 */
#define STALL_MIN_NS 500000000ull
static bool evict_stalled(struct ctx *c, struct conn *asking)
{
	struct conn *worst = c->hold_new.head ? conn_of(c->hold_new.head, hold) : NULL;

	if (worst == asking)
		worst = worst->hold.next ? conn_of(worst->hold.next, hold) : NULL;
	if (worst && !asking->progressed && c->now_ns - worst->last_progress < STALL_MIN_NS)
		worst = NULL;
	if (!worst && asking->progressed && c->hold.head && conn_of(c->hold.head, hold) != asking)
		worst = conn_of(c->hold.head, hold);
	if (!worst)
		return false;
	c->evicted++;
	conn_reset(c, worst);
	return true;
}

static int append_pending(struct ctx *c, struct conn *cn, const unsigned char *p, size_t len)
{
	while (c->out_bytes + len > c->cfg.max_output)
		if (!evict_stalled(c, cn))
			return -1;
	if (!cn->pend_len) { /* 開始有待送:排到 hold_new(從沒讀過)或 hold 的尾巴 */
		cn->last_progress = c->now_ns;
		cn->hold_list = cn->progressed ? &c->hold : &c->hold_new;
		lru_touch(cn->hold_list, &cn->hold);
		cn->blocked = true; /* 直接送回時沒送完才會來這裡:socket 滿了 */
	}
	if (!cn->pend) {
		/* 容量固定為上限:待送不會超過 --conn-buffer + 一個緩衝區 */
		cn->pend = malloc(c->cfg.conn_buffer + c->cfg.buf_size);
		if (!cn->pend)
			return -1;
	}
	if (cn->pend_off + cn->pend_len + len > c->cfg.conn_buffer + c->cfg.buf_size) {
		memmove(cn->pend, cn->pend + cn->pend_off, cn->pend_len);
		cn->pend_off = 0;
	}
	memcpy(cn->pend + cn->pend_off + cn->pend_len, p, len);
	cn->pend_len += len;
	c->out_bytes += len;
	return 0;
}

static void update_interest(struct ctx *c, struct conn *cn)
{
	bool room = cn->pend_len + c->cfg.buf_size <= c->cfg.conn_buffer;
	bool want_read = !cn->peer_eof && (c->draining || (cn->reading ? room : cn->pend_len <= c->cfg.conn_buffer / 2));
	bool want_write = cn->pend_len > 0;

	if (cn->reading && !want_read && !cn->peer_eof)
		c->throttles++;
	if (cn->peer_eof && !cn->pend_len) {
		conn_close(c, cn); /* 半關閉:資料送完才關 */
		return;
	}
	if (c->draining && !cn->pend_len && !cn->shut_sent) {
		SYS(c, shutdown(cn->fd, SHUT_WR)); /* 對方收完資料後讀到 EOF */
		cn->shut_sent = true;
	}
	if (want_read != cn->reading || want_write != cn->writing) {
		cn->reading = want_read;
		cn->writing = want_write;
		set_events(c, cn);
	}
}

/* 結束中:讀掉丟棄,直到對方 EOF */
static void discard_input(struct ctx *c, struct conn *cn)
{
	for (int r = 0; r < MAX_READS; r++) {
		ssize_t n = SYS(c, recv(cn->fd, c->buf, c->cfg.buf_size, 0));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			if (n < 0 || !cn->pend_len) {
				conn_close(c, cn);
				return;
			}
			cn->peer_eof = true;
			break;
		}
	}
	update_interest(c, cn);
}

/*
 * 可讀:讀到 EAGAIN 為止(短讀就停;最多 MAX_READS 次、不超過背壓上限),讀到的全部用一次 send 送回
 * (有待送時接在待送後面,一起送)。每次 recv 要整塊剩下的空間:通常一次就把 socket 讀空。
 */
static void on_readable(struct ctx *c, struct conn *cn)
{
	size_t got = 0, cap = 0;

	if (c->draining) {
		discard_input(c, cn);
		return;
	}
	if (cn->pend_len + c->cfg.buf_size <= c->cfg.conn_buffer) /* 背壓:待送最多 --conn-buffer + 一個緩衝區 */
		cap = c->cfg.conn_buffer + c->cfg.buf_size - cn->pend_len;
	if (cap > c->buf_cap)
		cap = c->buf_cap;
	for (int r = 0; r < MAX_READS && got < cap; r++) {
		size_t want = cap - got;
		ssize_t n = SYS(c, recv(cn->fd, c->buf + got, want, 0));
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (errno != ECONNRESET)
				c->errors++;
			conn_close(c, cn);
			return;
		}
		if (n == 0) {
			cn->peer_eof = true;
			break;
		}
		c->msgs++;
		c->bytes_in += (uint64_t)n;
		conn_active(c, cn, (size_t)n);
		got += (size_t)n;
		if ((size_t)n < want)
			break; /* 短讀:socket 已經讀空,不必再一次 recv 拿 EAGAIN */
	}
	size_t off = 0;
	bool tried = got && !cn->pend_len;
	if (tried) {
		/* 沒有排隊的資料:直接送回 */
		ssize_t w = SYS(c, send(cn->fd, c->buf, got, MSG_NOSIGNAL));
		if (w < 0 && errno != EAGAIN && errno != EINTR) {
			if (errno != EPIPE && errno != ECONNRESET)
				c->errors++;
			conn_close(c, cn);
			return;
		}
		if (w > 0) {
			off = (size_t)w;
			c->bytes_out += (uint64_t)w;
			conn_active(c, cn, (size_t)w);
		}
	}
	if (off < got && append_pending(c, cn, c->buf + off, got - off)) {
		c->evicted++;
		conn_reset(c, cn);
		return;
	}
	/* 原本就有待送(而且沒在等 EPOLLOUT):新資料接在後面,一次 send 一起送 */
	if (cn->pend_len && !cn->writing && !tried && flush_pending(c, cn) < 0)
		return;
	update_interest(c, cn);
}

/* 連線數滿了:閒置最久(至少 YIELD_MIN_NS)的連線讓位給新連線 */
static bool make_room(struct ctx *c)
{
	struct conn *idle = c->act.head ? conn_of(c->act.head, act) : NULL;

	if (c->active < c->cfg.max_conns)
		return true;
	if (!idle || c->now_ns - idle->last_active < YIELD_MIN_NS)
		return false;
	c->yielded++;
	conn_close(c, idle);
	return true;
}

static void on_accept(struct ctx *c)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = SYS(c, accept4(c->listen_fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC));
		struct conn *cn;
		uint64_t hi, lo;

		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				time_t t = time(NULL);
				c->errors++;
				if (t != c->last_emfile_msg)
					fprintf(stderr, "錯誤:開啟的檔案太多(%s):提高 ulimit -n;稍後重試 accept\n",
						strerror(errno));
				c->last_emfile_msg = t;
				/* 監聽 socket 會一直可讀:先從 epoll 拿掉,下一個時間點再放回,避免忙迴圈 */
				SYS(c, epoll_ctl(c->ep, EPOLL_CTL_DEL, c->listen_fd, NULL));
				c->accept_paused = true;
			}
			return;
		}
		peer_key(&ss, &hi, &lo);
		uint32_t pi = peer_find(c, hi, lo);
		if ((unsigned)fd >= c->nslots || (c->cfg.max_per_addr && c->peers[pi].conns >= c->cfg.max_per_addr) ||
		    !make_room(c) || !(cn = calloc(1, sizeof(*cn)))) {
			c->rejected++;
			SYS(c, close(fd));
			continue;
		}
		c->peers[pi].hi = cn->peer_hi = hi;
		c->peers[pi].lo = cn->peer_lo = lo;
		c->peers[pi].conns++;
		cn->fd = fd;
		cn->reading = true;
		cn->last_active = cn->window_start = c->now_ns;
		lru_touch(&c->act, &cn->act);
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = cn };
		SYS(c, epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev));
		c->conns[fd] = cn;
		c->active++;
		c->accepted++;
	}
}

/* 每秒一次:閒置逾時與最低進度(與 io_uring_async 相同的規則) */
static void expire_conns(struct ctx *c)
{
	uint64_t window = (uint64_t)c->cfg.idle_timeout * 1000000000ull;

	if (!window)
		return;
	while (c->act.head) {
		struct conn *cn = conn_of(c->act.head, act);
		if (c->now_ns - cn->last_active <= window)
			break;
		c->timeouts++;
		conn_reset(c, cn); /* RST:不留下對著零視窗重試的孤兒 socket(與 io_uring_async 相同) */
	}
	if (!c->cfg.min_progress)
		return;
	for (unsigned i = 0; i < c->nslots; i++) {
		struct conn *cn = c->conns[i];
		if (!cn || c->now_ns - cn->window_start < window)
			continue;
		if (cn->window_bytes < c->cfg.min_progress) {
			c->slow++;
			conn_reset(c, cn);
		} else {
			cn->window_start = c->now_ns;
			cn->window_bytes = 0;
		}
	}
}

static int setup(struct ctx *c)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	const char *addr = c->cfg.bind_addr ? c->cfg.bind_addr : "::";
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	struct rlimit rl;
	int one = 1, zero = 0;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	c->nslots = rl.rlim_cur > (1u << 21) ? (1u << 21) : (unsigned)rl.rlim_cur;
	c->conns = calloc(c->nslots, sizeof(*c->conns));
	for (c->peers_mask = 1; c->peers_mask < 2 * c->cfg.max_conns + 64; c->peers_mask <<= 1)
		;
	c->peers = calloc(c->peers_mask--, sizeof(*c->peers));
	c->buf_cap = (size_t)MAX_READS * c->cfg.buf_size; /* 一次可讀事件最多讀這麼多 */
	c->buf = malloc(c->buf_cap);
	if (!c->conns || !c->buf || !c->peers) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		return -1;
	}
	c->listen_fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 && family == AF_INET6 && !c->cfg.bind_addr) { /* 核心沒有 IPv6 */
		addr = "0.0.0.0";
		family = AF_INET;
		c->listen_fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (c->listen_fd < 0) {
		fprintf(stderr, "錯誤:socket 失敗:%s\n", strerror(errno));
		return -1;
	}
	if (family == AF_INET6) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)c->cfg.port);
		inet_pton(AF_INET6, addr, &a6->sin6_addr);
		setsockopt(c->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	} else {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)c->cfg.port);
		inet_pton(AF_INET, addr, &a4->sin_addr);
	}
	c->bind_name = addr;
	setsockopt(c->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (c->cfg.sock_buffer) { /* accept 出來的連線繼承 */
		setsockopt(c->listen_fd, SOL_SOCKET, SO_SNDBUF, &c->cfg.sock_buffer, sizeof(c->cfg.sock_buffer));
		setsockopt(c->listen_fd, SOL_SOCKET, SO_RCVBUF, &c->cfg.sock_buffer, sizeof(c->cfg.sock_buffer));
	}
	setsockopt(c->listen_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* accept 出來的連線繼承 */
	if (bind(c->listen_fd, (struct sockaddr *)&ss, family == AF_INET6 ? sizeof(*a6) : sizeof(*a4)) < 0) {
		if (errno == EADDRINUSE)
			fprintf(stderr, "錯誤:埠 %d 已被使用(EADDRINUSE)\n", c->cfg.port);
		else
			fprintf(stderr, "錯誤:bind 失敗:%s\n", strerror(errno));
		return -1;
	}
	if (listen(c->listen_fd, 4096) < 0) {
		fprintf(stderr, "錯誤:listen 失敗:%s\n", strerror(errno));
		return -1;
	}
	c->ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	epoll_ctl(c->ep, EPOLL_CTL_ADD, c->listen_fd, &ev);
	return 0;
}

static double elapsed(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

int main(int argc, char **argv)
{
	struct ctx c = { .ep = -1, .listen_fd = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct epoll_event evs[MAX_EVENTS];
	struct timespec tick;
	uint64_t last_msgs = 0, last_acc = 0;
	int rc = 1;

	parse_args(argc, argv, &c.cfg);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (setup(&c))
		goto out;
	printf("epoll echo 伺服器監聽 %s%s%s:%d(緩衝區 %u 位元組,每條連線待送上限 %zu KiB,合計 %zu MiB)\n",
	       strchr(c.bind_name, ':') ? "[" : "", c.bind_name, strchr(c.bind_name, ':') ? "]" : "", c.cfg.port, c.cfg.buf_size, c.cfg.conn_buffer >> 10, c.cfg.max_output >> 20);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &c.start);
	tick = c.start;
	c.syscalls = 0; /* 只算服務期間的 */
	struct timespec drain_start = { 0 };
	while (!c.draining || (c.active && elapsed(&drain_start) < 5.0)) {
		if (stop_flag && !c.draining) {
			/* 停止接受;每條連線不再回應,待送送完就 SHUT_WR(見 update_interest) */
			c.draining = true;
			clock_gettime(CLOCK_MONOTONIC, &drain_start);
			close(c.listen_fd);
			c.listen_fd = -1;
			c.accept_paused = false;
			for (unsigned i = 0; i < c.nslots; i++)
				if (c.conns[i])
					update_interest(&c, c.conns[i]);
		}
		int n = SYS(&c, epoll_wait(c.ep, evs, MAX_EVENTS, c.draining ? 50 : 200));
		c.now_ns = now_ns();
		for (int i = 0; i < n; i++) {
			struct conn *cn = evs[i].data.ptr;
			if (!cn) {
				on_accept(&c);
				continue;
			}
			/* 同一批事件中連線可能已被關閉(被逐出;見 conn_close) */
			if (cn->fd < 0)
				continue;
			if (evs[i].events & EPOLLOUT) {
				if (flush_pending(&c, cn) < 0)
					continue;
				update_interest(&c, cn);
				if (cn->fd < 0)
					continue;
			}
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				if (cn->reading || (evs[i].events & (EPOLLHUP | EPOLLERR)))
					on_readable(&c, cn);
			}
		}
		free_dead(&c);
		if (c.accept_paused && !c.draining && elapsed(&tick) >= 0.1) {
			struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
			SYS(&c, epoll_ctl(c.ep, EPOLL_CTL_ADD, c.listen_fd, &lev));
			c.accept_paused = false;
		}
		if (elapsed(&tick) >= 1.0) {
			double dt = elapsed(&tick);
			if (!c.cfg.quiet && (c.msgs != last_msgs || c.accepted != last_acc)) {
				printf("[統計] 連線 %u | 累計接受 %llu | %.0f 訊息/秒 | 每個訊息 %.2f 次系統呼叫\n", c.active,
				       (unsigned long long)c.accepted, (c.msgs - last_msgs) / dt,
				       c.msgs ? (double)c.syscalls / (double)c.msgs : 0.0);
				fflush(stdout);
			}
			last_msgs = c.msgs;
			last_acc = c.accepted;
			clock_gettime(CLOCK_MONOTONIC, &tick);
			expire_conns(&c);
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("\n== 總結 ==\n  連線 %llu(拒絕 %llu、讓位 %llu、逐出 %llu、閒置逾時 %llu、進度太慢 %llu),訊息 %llu,"
	       "收 %llu / 送 %llu 位元組,系統呼叫 %llu,錯誤 %llu\n",
	       (unsigned long long)c.accepted, (unsigned long long)c.rejected, (unsigned long long)c.yielded,
	       (unsigned long long)c.evicted, (unsigned long long)c.timeouts, (unsigned long long)c.slow,
	       (unsigned long long)c.msgs, (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out,
	       (unsigned long long)c.syscalls, (unsigned long long)c.errors);
	printf("SUMMARY prog=epoll_echo conns=%llu rejected=%llu yielded=%llu evicted=%llu timeouts=%llu slow=%llu "
	       "msgs=%llu bytes_in=%llu bytes_out=%llu errors=%llu throttles=%llu syscalls=%llu elapsed_s=%.3f cpu_s=%.3f\n",
	       (unsigned long long)c.accepted, (unsigned long long)c.rejected, (unsigned long long)c.yielded,
	       (unsigned long long)c.evicted, (unsigned long long)c.timeouts, (unsigned long long)c.slow,
	       (unsigned long long)c.msgs, (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out,
	       (unsigned long long)c.errors, (unsigned long long)c.throttles, (unsigned long long)c.syscalls,
	       elapsed(&c.start), cpu);
	rc = 0;
out:
	free_dead(&c);
	if (c.conns) {
		for (unsigned i = 0; i < c.nslots; i++)
			if (c.conns[i]) {
				close(c.conns[i]->fd);
				free(c.conns[i]->pend);
				free(c.conns[i]);
			}
		free(c.conns);
	}
	free(c.peers);
	free(c.buf);
	if (c.ep >= 0)
		close(c.ep);
	if (c.listen_fd >= 0)
		close(c.listen_fd);
	return rc;
}
