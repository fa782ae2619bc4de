// SPDX-License-Identifier: MIT
/*
 * bench/epoll_echo.c — 傳統基準:單執行緒、非阻塞、epoll 的 TCP echo 伺服器
 *
 * 與 io_uring_async 有相同語意,讓比較公平:
 *   - TCP_NODELAY、listen backlog 4096、SO_REUSEADDR
 *   - 每次 read 最多 --buffer-size 位元組(預設 4096),立刻 write 回去
 *   - 背壓:寫不出去的資料放進待送區;超過 --max-pending 個緩衝區大小就停止讀取
 *     (關掉 EPOLLIN),送到一半以下才恢復
 *   - 半關閉:read 回 0 後把待送資料送完再關閉
 *
 * 用法:bench/epoll_echo [--bind 位址] [--buffer-size N] [--max-pending N] [--max-conns N] [--quiet] [埠]
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

struct config {
	const char *bind_addr;
	int port;
	unsigned buf_size;
	unsigned max_pending;
	unsigned max_conns;
	bool quiet;
};

struct conn {
	int fd;
	bool peer_eof;
	bool reading; /* EPOLLIN 是否開著 */
	bool writing; /* EPOLLOUT 是否開著 */
	unsigned char *pend;
	size_t pend_off, pend_len, pend_cap;
};

struct ctx {
	struct config cfg;
	int ep, listen_fd;
	struct conn **conns;
	unsigned nslots, active;
	unsigned char *buf;
	uint64_t accepted, rejected, msgs, bytes_in, bytes_out, errors, throttles;
	struct timespec start;
	time_t last_emfile_msg;
	bool accept_paused;
};

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	static const struct option longopts[] = {
		{ "bind", required_argument, NULL, 'a' },	  { "buffer-size", required_argument, NULL, 's' },
		{ "max-pending", required_argument, NULL, 'm' }, { "max-conns", required_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'Q' },		  { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct in_addr a;
	int c;

	*cfg = (struct config){ .bind_addr = "0.0.0.0", .port = 12345, .buf_size = 4096, .max_pending = 16,
				.max_conns = 16384 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, "a:s:m:c:Qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &a) != 1) {
				fprintf(stderr, "錯誤:--bind 需要 IPv4 位址,得到「%s」\n", optarg);
				exit(EXIT_USAGE);
			}
			cfg->bind_addr = optarg;
			break;
		case 's':
			cfg->buf_size = parse_num(optarg, "--buffer-size", 64, 1 << 20);
			break;
		case 'm':
			cfg->max_pending = parse_num(optarg, "--max-pending", 1, 4096);
			break;
		case 'c':
			cfg->max_conns = parse_num(optarg, "--max-conns", 1, 1 << 20);
			break;
		case 'Q':
			cfg->quiet = true;
			break;
		case 'h':
			printf("用法:%s [--bind 位址] [--buffer-size N] [--max-pending N] [--max-conns N] [--quiet] [埠]\n"
			       "epoll echo 伺服器(io_uring_async 的傳統基準),埠預設 12345。\n",
			       argv[0]);
			exit(0);
		default:
			fprintf(stderr, "錯誤:不認得的選項或缺少參數「%s」(--help 看說明)\n", argv[optind - 1]);
			exit(EXIT_USAGE);
		}
	}
	if (optind < argc)
		cfg->port = parse_num(argv[optind++], "埠", 1, 65535);
	if (optind < argc) {
		fprintf(stderr, "錯誤:多餘的參數「%s」\n", argv[optind]);
		exit(EXIT_USAGE);
	}
}

static void set_events(struct ctx *c, struct conn *cn)
{
	struct epoll_event ev = { .data.ptr = cn };

	ev.events = (cn->reading ? EPOLLIN | EPOLLRDHUP : 0) | (cn->writing ? EPOLLOUT : 0);
	epoll_ctl(c->ep, EPOLL_CTL_MOD, cn->fd, &ev);
}

static void conn_close(struct ctx *c, struct conn *cn)
{
	epoll_ctl(c->ep, EPOLL_CTL_DEL, cn->fd, NULL);
	close(cn->fd);
	c->conns[cn->fd] = NULL;
	c->active--;
	free(cn->pend);
	free(cn);
}

/* 送出待送區;回傳 -1 表示連線已關閉 */
static int flush_pending(struct ctx *c, struct conn *cn)
{
	while (cn->pend_len) {
		ssize_t n = send(cn->fd, cn->pend + cn->pend_off, cn->pend_len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			if (errno != EPIPE && errno != ECONNRESET)
				c->errors++;
			conn_close(c, cn);
			return -1;
		}
		c->bytes_out += (uint64_t)n;
		cn->pend_off += (size_t)n;
		cn->pend_len -= (size_t)n;
	}
	if (!cn->pend_len)
		cn->pend_off = 0;
	return 0;
}

static int append_pending(struct conn *cn, const unsigned char *p, size_t len)
{
	if (cn->pend_off && cn->pend_off + cn->pend_len + len > cn->pend_cap) {
		memmove(cn->pend, cn->pend + cn->pend_off, cn->pend_len);
		cn->pend_off = 0;
	}
	if (cn->pend_off + cn->pend_len + len > cn->pend_cap) {
		size_t ncap = cn->pend_cap ? cn->pend_cap : 4096;
		while (ncap < cn->pend_len + len)
			ncap *= 2;
		unsigned char *np = realloc(cn->pend, ncap);
		if (!np)
			return -1;
		cn->pend = np;
		cn->pend_cap = ncap;
	}
	memcpy(cn->pend + cn->pend_off + cn->pend_len, p, len);
	cn->pend_len += len;
	return 0;
}

static void update_interest(struct ctx *c, struct conn *cn)
{
	size_t limit = (size_t)c->cfg.max_pending * c->cfg.buf_size;
	bool want_read = !cn->peer_eof && (cn->reading ? cn->pend_len < limit : cn->pend_len <= limit / 2);
	bool want_write = cn->pend_len > 0;

	if (cn->reading && !want_read && !cn->peer_eof)
		c->throttles++;
	if (want_read != cn->reading || want_write != cn->writing) {
		cn->reading = want_read;
		cn->writing = want_write;
		set_events(c, cn);
	}
	if (cn->peer_eof && !cn->pend_len)
		conn_close(c, cn); /* 半關閉:資料送完才關 */
}

static void on_readable(struct ctx *c, struct conn *cn)
{
	ssize_t n = recv(cn->fd, c->buf, c->cfg.buf_size, 0);

	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return;
		if (errno != ECONNRESET)
			c->errors++;
		conn_close(c, cn);
		return;
	}
	if (n == 0) {
		cn->peer_eof = true;
		update_interest(c, cn);
		return;
	}
	c->msgs++;
	c->bytes_in += (uint64_t)n;
	size_t off = 0;
	if (!cn->pend_len) {
		/* 沒有排隊的資料:直接送,保持順序 */
		ssize_t w = send(cn->fd, c->buf, (size_t)n, MSG_NOSIGNAL);
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
	if (off < (size_t)n && append_pending(cn, c->buf + off, (size_t)n - off)) {
		c->errors++;
		conn_close(c, cn);
		return;
	}
	update_interest(c, cn);
}

static void on_accept(struct ctx *c)
{
	for (;;) {
		int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		int one = 1;
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
				epoll_ctl(c->ep, EPOLL_CTL_DEL, c->listen_fd, NULL);
				c->accept_paused = true;
			}
			return;
		}
		if ((unsigned)fd >= c->nslots || c->active >= c->cfg.max_conns || !(cn = calloc(1, sizeof(*cn)))) {
			c->rejected++;
			close(fd);
			continue;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		cn->fd = fd;
		cn->reading = true;
		struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = cn };
		epoll_ctl(c->ep, EPOLL_CTL_ADD, fd, &ev);
		c->conns[fd] = cn;
		c->active++;
		c->accepted++;
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
	c->buf = malloc(c->cfg.buf_size);
	if (!c->conns || !c->buf) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		return -1;
	}
	inet_pton(AF_INET, c->cfg.bind_addr, &addr.sin_addr);
	c->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(c->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
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
	printf("epoll echo 伺服器監聽 %s:%d(緩衝區 %u 位元組,每條連線待送上限 %u 個)\n", c.cfg.bind_addr,
	       c.cfg.port, c.cfg.buf_size, c.cfg.max_pending);
	fflush(stdout);
	clock_gettime(CLOCK_MONOTONIC, &c.start);
	tick = c.start;
	while (!stop_flag) {
		int n = epoll_wait(c.ep, evs, MAX_EVENTS, 200);
		for (int i = 0; i < n; i++) {
			struct conn *cn = evs[i].data.ptr;
			if (!cn) {
				on_accept(&c);
				continue;
			}
			/* 同一批事件中連線可能已被關閉:以 fd 表確認 */
			int fd = cn->fd;
			if (evs[i].events & EPOLLOUT) {
				if (flush_pending(&c, cn) < 0)
					continue;
				update_interest(&c, cn);
				if (c.conns[fd] != cn)
					continue; /* 已關閉(只比較指標,不解參考) */
			}
			if (evs[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
				if (cn->reading || (evs[i].events & (EPOLLHUP | EPOLLERR)))
					on_readable(&c, cn);
			}
		}
		if (c.accept_paused && elapsed(&tick) >= 0.1) {
			struct epoll_event lev = { .events = EPOLLIN, .data.ptr = NULL };
			epoll_ctl(c.ep, EPOLL_CTL_ADD, c.listen_fd, &lev);
			c.accept_paused = false;
		}
		if (elapsed(&tick) >= 1.0) {
			double dt = elapsed(&tick);
			if (!c.cfg.quiet && (c.msgs != last_msgs || c.accepted != last_acc)) {
				printf("[統計] 連線 %u | 累計接受 %llu | %.0f 訊息/秒\n", c.active,
				       (unsigned long long)c.accepted, (c.msgs - last_msgs) / dt);
				fflush(stdout);
			}
			last_msgs = c.msgs;
			last_acc = c.accepted;
			clock_gettime(CLOCK_MONOTONIC, &tick);
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("\n== 總結 ==\n  連線 %llu(拒絕 %llu),訊息 %llu,收 %llu / 送 %llu 位元組,錯誤 %llu\n",
	       (unsigned long long)c.accepted, (unsigned long long)c.rejected, (unsigned long long)c.msgs,
	       (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out, (unsigned long long)c.errors);
	printf("SUMMARY prog=epoll_echo conns=%llu rejected=%llu msgs=%llu bytes_in=%llu bytes_out=%llu errors=%llu "
	       "throttles=%llu elapsed_s=%.3f cpu_s=%.3f\n",
	       (unsigned long long)c.accepted, (unsigned long long)c.rejected, (unsigned long long)c.msgs,
	       (unsigned long long)c.bytes_in, (unsigned long long)c.bytes_out, (unsigned long long)c.errors,
	       (unsigned long long)c.throttles, elapsed(&c.start), cpu);
	rc = 0;
out:
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
