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
 *   - 全部連線的待送合計上限 --max-output(預設 64 MiB),用完時關閉待送最多的連線(最慢的讀者)
 *   - 半關閉:read 回 0 後把待送資料送完再關閉
 *   - 閒置逾時:超過 --idle-timeout 秒(預設 60)沒有任何位元組進出的連線被關閉
 *   - SIGINT/SIGTERM:停止接受;不再回應新資料(讀掉丟棄,免得 close 變成 RST),待送送完後
 *     shutdown(SHUT_WR),等對方 EOF 再關閉;最多等 5 秒
 *   - 自己計算系統呼叫次數(SUMMARY 的 syscalls),效能比較算「每個請求幾次系統呼叫」
 *
 * 用法:bench/epoll_echo [--bind 位址] [--buffer-size N] [--conn-buffer N] [--max-output N]
 *                        [--max-conns N] [--idle-timeout 秒] [--quiet] [埠]
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

/* 每個系統呼叫都經過這裡計數 */
#define SYS(c, call) ((c)->syscalls++, (call))

struct config {
	const char *bind_addr;
	int port;
	unsigned buf_size;
	size_t conn_buffer, max_output;
	unsigned max_conns;
	unsigned idle_timeout;
	bool quiet;
};

struct conn {
	int fd;
	bool peer_eof;
	bool reading; /* EPOLLIN 是否開著 */
	bool writing; /* EPOLLOUT 是否開著 */
	bool shut_sent; /* 結束中:已 shutdown(SHUT_WR) */
	unsigned last_active; /* 最後一次有位元組進出時的 ctx.now_s */
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
	uint64_t accepted, rejected, evicted, timeouts, msgs, bytes_in, bytes_out, errors, throttles, syscalls;
	unsigned now_s; /* 每秒加一 */
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
		{ "idle-timeout", required_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },		   { NULL, 0, NULL, 0 },
	};
	struct in_addr a;
	int c;

	*cfg = (struct config){ .bind_addr = "0.0.0.0", .port = 12345, .buf_size = 4096, .conn_buffer = 64 << 10,
				.max_output = 64 << 20, .max_conns = 16384, .idle_timeout = 60 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "a:s:b:o:c:i:Qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &a) != 1) {
				fprintf(stderr, "錯誤:--bind 需要 IPv4 位址,得到「%s」\n", optarg);
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
		case 'Q':
			cfg->quiet = true;
			break;
		case 'h':
			printf("用法:%s [--bind 位址] [--buffer-size N] [--conn-buffer N] [--max-output N] [--max-conns N] "
			       "[--idle-timeout 秒] [--quiet] [埠]\nepoll echo 伺服器(io_uring_async 的傳統基準),埠預設 12345。\n"
			       "記憶體上限:每條連線待送 <= --conn-buffer(預設 64K)+ 一個緩衝區,合計 <= --max-output(預設 64M)。\n"
			       "超過 --idle-timeout 秒(預設 60;0 = 不限)沒有任何位元組進出的連線被關閉。\n",
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
	if (n > 0)
		cn->last_active = c->now_s;
	cn->pend_off += (size_t)n;
	cn->pend_len -= (size_t)n;
	if (!cn->pend_len) { /* 送完:不佔記憶體 */
		free(cn->pend);
		cn->pend = NULL;
		cn->pend_off = 0;
	}
	return 0;
}

/* 全部待送到上限:關閉待送最多的另一條連線;自己就是最多的話回傳 false */
static bool evict_slowest(struct ctx *c, struct conn *asking)
{
	struct conn *worst = NULL;

	for (unsigned i = 0; i < c->nslots; i++)
		if (c->conns[i] && (!worst || c->conns[i]->pend_len > worst->pend_len))
			worst = c->conns[i];
	if (!worst || worst == asking || worst->pend_len <= asking->pend_len)
		return false;
	c->evicted++;
	conn_close(c, worst);
	return true;
}

static int append_pending(struct ctx *c, struct conn *cn, const unsigned char *p, size_t len)
{
	while (c->out_bytes + len > c->cfg.max_output)
		if (!evict_slowest(c, cn))
			return -1;
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
		cn->last_active = c->now_s;
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
		}
	}
	if (off < got && append_pending(c, cn, c->buf + off, got - off)) {
		c->evicted++;
		conn_close(c, cn);
		return;
	}
	/* 原本就有待送(而且沒在等 EPOLLOUT):新資料接在後面,一次 send 一起送 */
	if (cn->pend_len && !cn->writing && !tried && flush_pending(c, cn) < 0)
		return;
	update_interest(c, cn);
}

static void on_accept(struct ctx *c)
{
	for (;;) {
		int fd = SYS(c, accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC));
		struct conn *cn;

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
		if ((unsigned)fd >= c->nslots || c->active >= c->cfg.max_conns || !(cn = calloc(1, sizeof(*cn)))) {
			c->rejected++;
			SYS(c, close(fd));
			continue;
		}
		cn->fd = fd;
		cn->reading = true;
		cn->last_active = c->now_s;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = cn };
		SYS(c, epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev));
		c->conns[fd] = cn;
		c->active++;
		c->accepted++;
	}
}

/* 閒置逾時(每秒一次):與 io_uring_async 相同的規則 */
static void expire_idle(struct ctx *c)
{
	if (!c->cfg.idle_timeout)
		return;
	for (unsigned i = 0; i < c->nslots; i++) {
		struct conn *cn = c->conns[i];
		if (cn && c->now_s - cn->last_active > c->cfg.idle_timeout) {
			c->timeouts++;
			conn_close(c, cn);
		}
	}
}

static int setup(struct ctx *c)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)c->cfg.port) };
	struct rlimit rl;
	int one = 1;

	getrlimit(RLIMIT_NOFILE, &rl);
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	c->nslots = rl.rlim_cur > (1u << 21) ? (1u << 21) : (unsigned)rl.rlim_cur;
	c->conns = calloc(c->nslots, sizeof(*c->conns));
	c->buf_cap = (size_t)MAX_READS * c->cfg.buf_size; /* 一次可讀事件最多讀這麼多 */
	c->buf = malloc(c->buf_cap);
	if (!c->conns || !c->buf) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		return -1;
	}
	inet_pton(AF_INET, c->cfg.bind_addr, &addr.sin_addr);
	c->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(c->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(c->listen_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)); /* accept 出來的連線繼承 */
	if (bind(c->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
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
	printf("epoll echo 伺服器監聽 %s:%d(緩衝區 %u 位元組,每條連線待送上限 %zu KiB,合計 %zu MiB)\n", c.cfg.bind_addr,
	       c.cfg.port, c.cfg.buf_size, c.cfg.conn_buffer >> 10, c.cfg.max_output >> 20);
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
			c.now_s++;
			expire_idle(&c);
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("\n== 總結 ==\n  連線 %llu(拒絕 %llu、逐出 %llu、閒置逾時 %llu),訊息 %llu,收 %llu / 送 %llu 位元組,"
	       "系統呼叫 %llu,錯誤 %llu\n",
	       (unsigned long long)c.accepted, (unsigned long long)c.rejected, (unsigned long long)c.evicted,
	       (unsigned long long)c.timeouts,
	       (unsigned long long)c.msgs, (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out,
	       (unsigned long long)c.syscalls, (unsigned long long)c.errors);
	printf("SUMMARY prog=epoll_echo conns=%llu rejected=%llu evicted=%llu timeouts=%llu msgs=%llu bytes_in=%llu "
	       "bytes_out=%llu errors=%llu throttles=%llu syscalls=%llu elapsed_s=%.3f cpu_s=%.3f\n",
	       (unsigned long long)c.accepted, (unsigned long long)c.rejected, (unsigned long long)c.evicted,
	       (unsigned long long)c.timeouts,
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
	free(c.buf);
	if (c.ep >= 0)
		close(c.ep);
	if (c.listen_fd >= 0)
		close(c.listen_fd);
	return rc;
}
