// SPDX-License-Identifier: MIT
/*
 * bench/rdma_tcp_pingpong.c — RDMA 效能比較的傳統基準:一般 TCP socket 的 ping-pong 與串流
 *
 * 在 Soft-RoCE VM 裡與 rdma_communication 同一次開機、同樣大小與次數執行,
 * 讓「RDMA vs 傳統 socket」的比值有意義。輸出格式與 rdma_communication 相同:
 *   延遲(lat):每次來回時間 / 2(單程,與 perftest、rdma_communication 相同),
 *              最小 / p50 / p99 / 最大 / 平均 µs;
 *   頻寬(bw):客戶端送出 iters 則 size 位元組,伺服器全部收到後回報它的 CPU,MB/s(2^20)。
 *   --duration 秒:不限次數,跑這麼久(標頭裡的次數是 0);客戶端以 shutdown(SHUT_WR) 告訴伺服器
 *   結束,伺服器在訊息的邊界讀到 EOF 才算完整,之後回報 CPU。
 * 最後一行是 SUMMARY key=value…:cpu_ns 是客戶端每則的 user+system 時間,server_cpu_ns 是
 * 伺服器每則的 CPU 時間(伺服器在結束時以 8 位元組回報它這段期間用掉的 CPU,和
 * rdma_communication 的伺服器以 'A' 訊息回報一樣),讓「被動端 CPU」可以直接比較。
 * 伺服器一次服務一個連線;每個 recv / send 有 10 秒期限,對方消失不會卡住。
 *
 * 用法:
 *   rdma_tcp_pingpong server [--port 7472] [--once]
 *   rdma_tcp_pingpong client 位址 [--port 7472] [--test lat|bw] [--size N] [--iters N | --duration 秒]
 * 例:rdma_tcp_pingpong server --once & rdma_tcp_pingpong client 10.0.2.15 --test lat
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define DEFAULT_PORT 7472
#define MAX_SIZE (64u << 20)

struct config {
	bool server, once, bw;
	const char *addr;
	int port;
	uint32_t size, iters, duration;
};

/* 連線開頭的 12 位元組:測試種類、大小、次數(網路位元組序;0 = 直到客戶端 shutdown) */
struct header {
	uint32_t bw, size, iters;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static void usage_error(const char *msg, const char *arg)
{
	fprintf(stderr, "錯誤:%s%s(rdma_tcp_pingpong --help 看說明)\n", msg, arg ? arg : "");
	exit(64);
}

/* 完整讀 / 寫 len 位元組;對方關閉或錯誤回傳 -1 */
static int full_io(int fd, void *buf, size_t len, bool wr)
{
	char *p = buf;

	while (len) {
		ssize_t n = wr ? send(fd, p, len, MSG_NOSIGNAL) : recv(fd, p, len, 0);

		if (n < 0 && errno == EINTR && !stop)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* 讀一則 size 位元組的訊息:1 = 讀到,0 = 對方在訊息的邊界關閉了寫入(乾淨的結束),-1 = 錯誤或半則 */
static int read_msg(int fd, char *buf, size_t size)
{
	ssize_t n;

	do
		n = recv(fd, buf, size, 0);
	while (n < 0 && errno == EINTR && !stop);
	if (n == 0)
		return 0;
	if (n < 0 || full_io(fd, buf + n, size - (size_t)n, false))
		return -1;
	return 1;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* 服務一個連線;結束時把這段期間伺服器用掉的 CPU(ns,8 位元組,網路位元組序)送回去 */
static void serve(int cfd)
{
	struct header h;
	char *buf;
	uint32_t size, iters, i = 0;
	uint64_t c0, cpu;
	bool ok = false;

	if (full_io(cfd, &h, sizeof(h), false))
		return;
	size = ntohl(h.size);
	iters = ntohl(h.iters); /* 0 = 直到客戶端 shutdown(--duration) */
	if (!size || size > MAX_SIZE)
		return;
	buf = malloc(size);
	if (!buf)
		return;
	c0 = cpu_ns();
	if (ntohl(h.bw)) {
		uint64_t total = iters ? (uint64_t)size * iters : UINT64_MAX, got = 0;

		while (got < total && !stop) {
			ssize_t n = recv(cfd, buf, total - got < size ? total - got : size, 0);

			if (n <= 0) {
				ok = n == 0 && !iters && got % size == 0;
				break;
			}
			got += (uint64_t)n;
		}
		ok = ok || got == total;
	} else {
		int r = 1;

		for (i = 0; (!iters || i < iters) && !stop; i++)
			if ((r = read_msg(cfd, buf, size)) <= 0 || full_io(cfd, buf, size, true))
				break;
		ok = iters ? i == iters : r == 0;
	}
	cpu = htobe64(cpu_ns() - c0);
	if (ok)
		full_io(cfd, &cpu, sizeof(cpu), true);
	free(buf);
}

static int run_server(const struct config *cfg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port) };
	int one = 1, lfd = socket(AF_INET, SOCK_STREAM, 0);

	if (lfd < 0)
		return perror("socket"), 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) || listen(lfd, 8)) {
		fprintf(stderr, "錯誤:無法在埠 %d 監聽:%s\n", cfg->port, strerror(errno));
		close(lfd);
		return 1;
	}
	printf("TCP 基準伺服器在埠 %d 等待客戶端\n", cfg->port);
	fflush(stdout);
	while (!stop) {
		int cfd = accept(lfd, NULL, NULL);

		if (cfd < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		struct timeval tv = { .tv_sec = 10 };

		setsockopt(cfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(cfd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		serve(cfd);
		close(cfd);
		if (cfg->once)
			break;
	}
	close(lfd);
	return 0;
}

static int run_client(const struct config *cfg)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port) };
	struct header h = { htonl(cfg->bw), htonl(cfg->size), htonl(cfg->duration ? 0 : cfg->iters) };
	uint64_t *s = NULL, t0, c0, wall, cpu, i = 0, srv_cpu = 0, t_end, cap = cfg->duration ? 1u << 16 : cfg->iters;
	int one = 1, fd, ret = 1;
	char *buf;

	if (inet_pton(AF_INET, cfg->addr, &sin.sin_addr) != 1)
		usage_error("需要 IPv4 位址,得到 ", cfg->addr);
	buf = calloc(1, cfg->size);
	s = calloc(cap, sizeof(*s));
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (!buf || !s || fd < 0) {
		fprintf(stderr, "錯誤:配置資源失敗\n");
		goto out;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin))) {
		fprintf(stderr, "錯誤:連不上 %s:%d:%s\n", cfg->addr, cfg->port, strerror(errno));
		goto out;
	}
	if (full_io(fd, &h, sizeof(h), true))
		goto out;
	t0 = now_ns();
	c0 = cpu_ns();
	t_end = t0 + (uint64_t)cfg->duration * 1000000000ull;
	/* 依次數:做滿 iters 次;依時間:做到時間到(至少一次) */
#define MORE(i) (cfg->duration ? (i) == 0 || now_ns() < t_end : (i) < cfg->iters)
	if (cfg->bw) {
		for (i = 0; MORE(i) && !stop; i++)
			if (full_io(fd, buf, cfg->size, true))
				break;
	} else {
		for (i = 0; MORE(i) && !stop; i++) {
			uint64_t a = now_ns();

			if (full_io(fd, buf, cfg->size, true) || full_io(fd, buf, cfg->size, false))
				break;
			if (i == cap) { /* 依時間:樣本陣列不夠就加倍 */
				uint64_t *t = realloc(s, 2 * cap * sizeof(*s));

				if (!t)
					break;
				s = t;
				cap *= 2;
			}
			s[i] = now_ns() - a;
		}
	}
#undef MORE
	bool done = !stop && (cfg->duration ? now_ns() >= t_end : i == cfg->iters);

	/* 依時間的測試以 shutdown(SHUT_WR) 告訴伺服器結束;伺服器全部收到後回報它的 CPU,這也是「全部送達」的確認 */
	if (done && cfg->duration)
		shutdown(fd, SHUT_WR);
	if (done && full_io(fd, &srv_cpu, sizeof(srv_cpu), false))
		done = false;
	wall = now_ns() - t0;
	cpu = cpu_ns() - c0;
	srv_cpu = be64toh(srv_cpu);
	if (!done) {
		fprintf(stderr, "錯誤:第 %llu 次時連線中斷\n", (unsigned long long)i + 1);
		goto out;
	}
	uint64_t n = i;

	if (cfg->bw) {
		double secs = wall / 1e9, bytes = (double)cfg->size * n;

		printf("TCP 串流:%u 位元組 × %llu 則:%.2f MB/s(%.3f Gb/s)\n", cfg->size, (unsigned long long)n,
		       bytes / secs / 1048576.0, bytes * 8 / secs / 1e9);
		printf("SUMMARY role=client test=bw op=tcp size=%u iters=%llu mbps=%.2f gbps=%.3f msg_rate=%.0f "
		       "cpu_ns=%.0f server_cpu_ns=%.0f status=ok\n",
		       cfg->size, (unsigned long long)n, bytes / secs / 1048576.0, bytes * 8 / secs / 1e9, n / secs,
		       (double)cpu / n, (double)srv_cpu / n);
	} else {
		double sum = 0;

		qsort(s, n, sizeof(*s), cmp_u64);
		for (uint64_t k = 0; k < n; k++)
			sum += (double)s[k];
		printf("TCP ping-pong:%u 位元組 × %llu 次,單程(來回 / 2)p50 %.2f µs\n", cfg->size, (unsigned long long)n,
		       s[n / 2] / 2000.0);
		printf("SUMMARY role=client test=lat op=tcp size=%u iters=%llu min_us=%.2f p50_us=%.2f p99_us=%.2f "
		       "max_us=%.2f avg_us=%.2f cpu_ns=%.0f server_cpu_ns=%.0f status=ok\n",
		       cfg->size, (unsigned long long)n, s[0] / 2000.0, s[n / 2] / 2000.0, s[n * 99 / 100] / 2000.0,
		       s[n - 1] / 2000.0, sum / n / 2000.0, (double)cpu / n, (double)srv_cpu / n);
	}
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(s);
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' }, { "test", required_argument, NULL, 't' },
		{ "size", required_argument, NULL, 's' }, { "iters", required_argument, NULL, 'n' },
		{ "once", no_argument, NULL, '1' },	  { "help", no_argument, NULL, 'h' },
		{ "duration", required_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	struct config cfg = { .port = DEFAULT_PORT, .size = 64, .iters = 1000 };
	struct sigaction sa = { .sa_handler = on_signal };
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:t:s:n:D:1h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			cfg.port = (int)parse_num(optarg, "--port", 1, 65535);
			break;
		case 't':
			if (strcmp(optarg, "lat") && strcmp(optarg, "bw"))
				usage_error("--test 只能是 lat 或 bw,得到 ", optarg);
			cfg.bw = !strcmp(optarg, "bw");
			break;
		case 's':
			cfg.size = (uint32_t)parse_num(optarg, "--size", 1, MAX_SIZE);
			break;
		case 'n':
			cfg.iters = (uint32_t)parse_num(optarg, "--iters", 1, 100000000);
			break;
		case 'D':
			cfg.duration = (uint32_t)parse_num(optarg, "--duration", 1, 3600);
			break;
		case '1':
			cfg.once = true;
			break;
		case 'h':
			printf("用法:\n  rdma_tcp_pingpong server [--port 7472] [--once]\n"
			       "  rdma_tcp_pingpong client 位址 [--port 7472] [--test lat|bw] [--size N] [--iters N | --duration 秒]\n"
			       "TCP 基準:ping-pong 延遲(單程 = 來回 / 2)或串流頻寬,輸出 SUMMARY 行。\n");
			return 0;
		case ':':
			usage_error("選項缺少參數:", argv[optind - 1]);
			break;
		default:
			usage_error("不認得的選項:", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("需要 server 或 client", NULL);
	if (!strcmp(argv[optind], "server")) {
		cfg.server = true;
	} else if (!strcmp(argv[optind], "client")) {
		if (optind + 1 >= argc)
			usage_error("client 需要伺服器位址", NULL);
		cfg.addr = argv[optind + 1];
	} else {
		usage_error("第一個參數必須是 server 或 client,得到 ", argv[optind]);
	}
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	return cfg.server ? run_server(&cfg) : run_client(&cfg);
}
