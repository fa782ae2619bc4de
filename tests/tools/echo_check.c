// SPDX-License-Identifier: MIT
/*
 * tests/tools/echo_check.c — echo 伺服器的邊界情況測試用戶端
 *
 *   echo_check stream   埠 位元組 延遲毫秒   寫出大量資料,先不讀(讓伺服器背壓),之後讀回並逐位元組核對
 *   echo_check halfclose 埠 位元組         寫完後 shutdown(SHUT_WR),讀到 EOF,核對長度與內容
 *   echo_check reset    埠 位元組          寫資料後以 SO_LINGER=0 關閉(送出 RST),不讀回
 *   echo_check cycles   埠 次數            反覆 connect/close;一半以 RST 結束(SO_LINGER 0),一半先送一個位元組
 *   echo_check hog      埠 連線數 秒數      不讀的對端:每條連線一直送到送不出去為止,之後永遠不讀,
 *                                         撐「秒數」秒後關閉;全部送到塞住時印出 READY
 *   echo_check hold     埠 連線數 秒數      開這麼多條連線、什麼都不送,撐「秒數」秒後全部關閉(連線潮)
 *   echo_check sendonly 埠 位元組 秒數      接收緩衝區最小,送出這麼多位元組後再也不讀也不送,撐「秒數」秒;
 *                                         印出 READY(伺服器的 echo 塞在它自己的核心送出佇列裡)
 *   echo_check zcpin    埠 連線數 秒數      每條連線(接收緩衝區 4 KiB)送 60000 位元組、讀回 20000 之後永遠不讀,
 *                                         撐「秒數」秒:伺服器後來送出的資料卡在它自己的送出佇列裡;印出 READY
 *   echo_check evictbatch 埠 伺服器PID    讓伺服器在同一批事件裡逐出一條還有事件沒處理的連線(會暫停伺服器一下)
 *   echo_check probe    埠 次數 逾時毫秒 [來源]  每次開一條新連線送 64 位元組,逾時內要收到相同的 echo
 *   echo_check refused  埠 逾時毫秒 來源     從來源位址連線送 64 位元組:伺服器應關閉它、不回 echo
 *   echo_check lateread 埠 位元組 毫秒      先寫(寫到塞住為止)、等到第「毫秒」才開始讀,讀到 EOF;
 *                                         核對內容,印出 written= received=(伺服器結束時的排空測試用)
 *   echo_check evict    埠 秒數            16 個不讀者塞滿待送池、16 個受害者一邊送一邊偶爾讀並核對;
 *                                         被逐出就重連。任何一條收到不是自己的資料就失敗;印出 leaked= reconnects=
 *   echo_check innocent 埠 不讀者數 秒數     不讀者各送 60000 位元組後永遠不讀(被關閉就重連再送),塞滿待送池;
 *                                         同時一個一直在讀的用戶端(接收緩衝區 16 KiB)一直送並逐位元組核對,
 *                                         不讀者開始後再撐「秒數」秒。用戶端被重設就失敗;印出 hog_reconnects=
 *   echo_check slowloris 埠 連線數 秒數     這麼多條連線各每 3 秒送 1 個位元組(被關閉就重連),同時每秒一個從
 *                                         127.0.0.2 來的新連線要在 2 秒內收到 echo;任何一次沒收到就失敗
 * 成功結束碼 0;核對失敗 1;用法錯誤 64。伺服器位址固定為 127.0.0.1。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static unsigned char pat(uint64_t i)
{
	return (unsigned char)(i * 7 + (i >> 8) * 13 + (i >> 16));
}

static int dial(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "錯誤:連線到 127.0.0.1:%d 失敗:%s\n", port, strerror(errno));
		exit(1);
	}
	return fd;
}

static int dial_nb(int port, int rcvbuf);

static uint64_t now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

/* 寫入 [*woff, total);回傳是否遇到 EAGAIN */
static void write_some(int fd, uint64_t *woff, uint64_t total)
{
	unsigned char buf[65536];

	while (*woff < total) {
		size_t n = total - *woff < sizeof(buf) ? (size_t)(total - *woff) : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(*woff + i);
		ssize_t w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			fprintf(stderr, "錯誤:寫入失敗:%s(已寫 %llu)\n", strerror(errno), (unsigned long long)*woff);
			exit(1);
		}
		*woff += (uint64_t)w;
	}
}

/* 讀取並核對;回傳 0 = EOF */
static ssize_t read_check(int fd, uint64_t *roff, uint64_t limit)
{
	unsigned char buf[65536];
	ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return -1;
		fprintf(stderr, "錯誤:讀取失敗:%s(已讀 %llu)\n", strerror(errno), (unsigned long long)*roff);
		exit(1);
	}
	for (ssize_t i = 0; i < n; i++) {
		if (*roff + (uint64_t)i >= limit) {
			fprintf(stderr, "錯誤:收到多於送出的資料(超過 %llu 位元組)\n", (unsigned long long)limit);
			exit(1);
		}
		if (buf[i] != pat(*roff + (uint64_t)i)) {
			fprintf(stderr, "錯誤:第 %llu 位元組不符(資料遺失或亂序)\n", (unsigned long long)(*roff + (uint64_t)i));
			exit(1);
		}
	}
	*roff += (uint64_t)n;
	return n;
}

static int do_stream(int port, uint64_t total, unsigned delay_ms, int halfclose)
{
	int fd = dial(port);
	uint64_t woff = 0, roff = 0, t0 = now_ms(), last = now_ms();
	int shut = 0;

	/* 第一階段:只寫不讀 */
	while (now_ms() - t0 < delay_ms) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		write_some(fd, &woff, total);
		poll(&p, 1, 20);
	}
	printf("延遲讀取 %u 毫秒期間寫出 %llu 位元組\n", delay_ms, (unsigned long long)woff);
	fflush(stdout);
	/* 第二階段:邊寫邊讀,直到全部收回 */
	while (roff < total) {
		struct pollfd p = { .fd = fd, .events = POLLIN | (woff < total ? POLLOUT : 0) };
		if (poll(&p, 1, 1000) == 0 && now_ms() - last > 10000) {
			fprintf(stderr, "錯誤:10 秒沒有進展(已寫 %llu、已讀 %llu)\n", (unsigned long long)woff,
				(unsigned long long)roff);
			return 1;
		}
		if (woff < total)
			write_some(fd, &woff, total);
		if (halfclose && woff == total && !shut) {
			shutdown(fd, SHUT_WR);
			shut = 1;
		}
		ssize_t n = read_check(fd, &roff, total);
		if (n == 0)
			break;
		if (n > 0)
			last = now_ms();
	}
	if (roff != total) {
		fprintf(stderr, "錯誤:只收回 %llu / %llu 位元組\n", (unsigned long long)roff, (unsigned long long)total);
		return 1;
	}
	if (halfclose) {
		/* 伺服器送完後應該關閉:讀到 EOF */
		struct pollfd p = { .fd = fd, .events = POLLIN };
		char b;
		if (poll(&p, 1, 5000) <= 0 || recv(fd, &b, 1, 0) != 0) {
			fprintf(stderr, "錯誤:半關閉後伺服器沒有關閉連線\n");
			return 1;
		}
	}
	close(fd);
	printf("通過:%llu 位元組全部收回且順序正確\n", (unsigned long long)total);
	return 0;
}

static int do_reset(int port, uint64_t total)
{
	int fd = dial(port);
	uint64_t woff = 0, t0 = now_ms();
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	while (woff < total && now_ms() - t0 < 2000) {
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		write_some(fd, &woff, total);
		poll(&p, 1, 10);
	}
	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd); /* 送出 RST,伺服器還有待送資料 */
	printf("寫出 %llu 位元組後重設連線\n", (unsigned long long)woff);
	return 0;
}

static int do_cycles(int port, unsigned long n)
{
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };

	for (unsigned long i = 0; i < n; i++) {
		int fd = dial(port);
		if (i % 2) {
			setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)); /* close 送出 RST */
		} else if (send(fd, "x", 1, MSG_NOSIGNAL) != 1) {
			fprintf(stderr, "錯誤:送出失敗:%s\n", strerror(errno));
			return 1;
		}
		close(fd);
	}
	printf("完成 %lu 次 connect/close(一半 RST)\n", n);
	return 0;
}

/* 不讀的對端:把伺服器的待送塞滿,之後只是開著 */
static int do_hog(int port, unsigned long n, unsigned secs)
{
	int *fds = calloc(n, sizeof(int));
	unsigned char buf[65536];
	uint64_t pushed = 0, t0;
	unsigned long closed = 0;

	if (!fds)
		return 1;
	memset(buf, 'h', sizeof(buf));
	/*
	 * 小的收送緩衝區(不讀的對端本來就不需要):不然每條連線在兩邊核心裡各塞幾 MB,三百條就碰到
	 * 整台機器的 TCP 記憶體上限(net.ipv4.tcp_mem),連別的程式的 TCP 都受影響。
	 */
	for (unsigned long i = 0; i < n; i++) {
		int small = 16384;
		fds[i] = dial_nb(port, small);
		setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	}
	/*
	 * 一直送,直到連續 1 秒所有連線都送不出任何東西(伺服器停止讀取,socket 緩衝區全滿)。
	 * 被伺服器關閉(待送池用完時逐出)的連線就不再送。
	 */
	t0 = now_ms();
	for (uint64_t quiet_since = now_ms(); now_ms() - quiet_since < 1000 && now_ms() - t0 < 60000;) {
		uint64_t before = pushed;
		for (unsigned long i = 0; i < n; i++) {
			ssize_t w;
			while (fds[i] >= 0 && (w = send(fds[i], buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT)) > 0)
				pushed += (uint64_t)w;
			if (fds[i] >= 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
				close(fds[i]);
				fds[i] = -1;
				closed++;
			}
		}
		if (pushed != before)
			quiet_since = now_ms();
		usleep(20000);
	}
	printf("READY %lu 條連線共送出 %llu 位元組,之後不讀(其中 %lu 條被伺服器關閉)\n", n, (unsigned long long)pushed,
	       closed);
	fflush(stdout);
	sleep(secs);
	for (unsigned long i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	return 0;
}

/* 連線潮:一次開很多條連線,什麼都不做 */
static int do_hold(int port, unsigned long n, unsigned secs)
{
	int *fds = calloc(n, sizeof(int));

	if (!fds)
		return 1;
	for (unsigned long i = 0; i < n; i++)
		fds[i] = dial(port);
	printf("HOLDING %lu 條連線\n", n);
	fflush(stdout);
	sleep(secs);
	for (unsigned long i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return 0;
}

/*
 * 讀過一點就不再讀的對端:伺服器先等到 POLLOUT(對端讀過)才送排隊的資料,--zerocopy 時那些送出是
 * SEND_ZC,資料卡在伺服器的送出佇列裡,核心放掉它之前那些 chunk 不能回到待送池。
 */
static int do_zcpin(int port, unsigned long n, unsigned secs)
{
	struct {
		int fd;
		uint64_t sent, got;
	} *c = calloc(n, sizeof(*c));
	unsigned char buf[16384];
	uint64_t sent = 0, got = 0, t0 = now_ms();

	if (!c)
		return 1;
	memset(buf, 'z', sizeof(buf));
	for (unsigned long i = 0; i < n; i++)
		c[i].fd = dial_nb(port, 4096);
	while (now_ms() - t0 < 2000) {
		for (unsigned long i = 0; i < n; i++) {
			ssize_t k;
			if (c[i].sent < 60000 &&
			    (k = send(c[i].fd, buf, c[i].sent + sizeof(buf) > 60000 ? 60000 - c[i].sent : sizeof(buf),
				      MSG_NOSIGNAL | MSG_DONTWAIT)) > 0)
				c[i].sent += (uint64_t)k;
			if (now_ms() - t0 > 500 && c[i].got < 20000 &&
			    (k = recv(c[i].fd, buf, c[i].got + sizeof(buf) > 20000 ? 20000 - c[i].got : sizeof(buf),
				      MSG_DONTWAIT)) > 0)
				c[i].got += (uint64_t)k;
		}
		usleep(20000);
	}
	for (unsigned long i = 0; i < n; i++)
		sent += c[i].sent, got += c[i].got;
	printf("READY %lu 條連線共送出 %llu、讀回 %llu 位元組,之後不讀\n", n, (unsigned long long)sent,
	       (unsigned long long)got);
	fflush(stdout);
	sleep(secs);
	for (unsigned long i = 0; i < n; i++)
		close(c[i].fd);
	free(c);
	return 0;
}

/* 寫完先不讀,時間到再讀到 EOF:收到的必須是送出資料的開頭,而且以 EOF(不是 RST)結束 */
static int do_sendonly(int port, uint64_t total, unsigned secs)
{
	int fd = dial_nb(port, 1);
	uint64_t woff = 0;

	fcntl(fd, F_SETFL, 0);
	write_some(fd, &woff, total);
	printf("READY written=%llu\n", (unsigned long long)woff);
	fflush(stdout);
	sleep(secs);
	close(fd);
	return 0;
}

static int do_lateread(int port, uint64_t total, unsigned wait_ms)
{
	int fd = dial(port);
	uint64_t woff = 0, roff = 0, t0 = now_ms(), last_progress = now_ms();

	while (woff < total && now_ms() - last_progress < 300) {
		uint64_t before = woff;
		struct pollfd p = { .fd = fd, .events = POLLOUT };
		write_some(fd, &woff, total);
		if (woff != before)
			last_progress = now_ms();
		poll(&p, 1, 20);
	}
	while (now_ms() - t0 < wait_ms)
		usleep(10000);
	for (uint64_t last = now_ms();;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		poll(&p, 1, 1000);
		ssize_t n = read_check(fd, &roff, woff);
		if (n == 0)
			break;
		if (n > 0)
			last = now_ms();
		else if (now_ms() - last > 10000) {
			fprintf(stderr, "錯誤:10 秒沒有收到資料也沒有 EOF(已收 %llu)\n", (unsigned long long)roff);
			return 1;
		}
	}
	printf("written=%llu received=%llu eof=1\n", (unsigned long long)woff, (unsigned long long)roff);
	return 0;
}

static int dial_from(int port, const char *src);

/* 新連線的 echo 要在逾時內回來;src 不是 NULL 時從這個來源位址連線 */
static int do_probe(int port, unsigned long n, unsigned timeout_ms, const char *src)
{
	unsigned char msg[64], buf[64];
	uint64_t worst = 0;

	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = pat(i);
	for (unsigned long k = 0; k < n; k++) {
		uint64_t t0 = now_ms();
		size_t got = 0;
		int fd = src ? dial_from(port, src) : dial(port);
		if (send(fd, msg, sizeof(msg), MSG_NOSIGNAL) != (ssize_t)sizeof(msg)) {
			fprintf(stderr, "錯誤:送出失敗:%s\n", strerror(errno));
			return 1;
		}
		while (got < sizeof(buf)) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			int left = (int)(timeout_ms - (now_ms() - t0));
			ssize_t r;
			if (left <= 0 || poll(&p, 1, left) <= 0) {
				fprintf(stderr, "錯誤:第 %lu 次:%u 毫秒內沒有收到 echo(收到 %zu / 64 位元組)\n", k + 1, timeout_ms,
					got);
				return 1;
			}
			r = recv(fd, buf + got, sizeof(buf) - got, 0);
			if (r <= 0) {
				fprintf(stderr, "錯誤:第 %lu 次:連線被關閉(%s)\n", k + 1, r ? strerror(errno) : "EOF");
				return 1;
			}
			got += (size_t)r;
		}
		if (memcmp(buf, msg, sizeof(msg))) {
			fprintf(stderr, "錯誤:第 %lu 次:echo 內容不符\n", k + 1);
			return 1;
		}
		if (now_ms() - t0 > worst)
			worst = now_ms() - t0;
		close(fd);
	}
	printf("通過:%lu 次新連線的 echo,最慢 %llu 毫秒\n", n, (unsigned long long)worst);
	return 0;
}

/*
 * 待送池用完時被逐出的連線,絕不能收到別條連線的資料。
 * 受害者:接收緩衝區很小、一直送自己的位元組序列、每隔幾毫秒才讀一次並逐位元組核對(被關閉就重連);
 * 不讀者:一直送 'z' 從不讀,讓待送池保持用完,伺服器不斷逐出佔用最多的連線。
 */
#define EV_CONNS 16
static int dial_nb(int port, int rcvbuf)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && rcvbuf)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "錯誤:連線到 127.0.0.1:%d 失敗:%s\n", port, strerror(errno));
		exit(1);
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	return fd;
}

static int do_evict(int port, unsigned secs)
{
	struct {
		int fd;
		uint64_t woff, roff;
	} v[EV_CONNS];
	int hog[EV_CONNS];
	unsigned char z[65536], buf[65536];
	unsigned long leaked = 0, reconnects = 0;
	uint64_t t0 = now_ms();

	memset(z, 'z', sizeof(z));
	for (int i = 0; i < EV_CONNS; i++) {
		v[i].fd = dial_nb(port, 16384);
		v[i].woff = v[i].roff = 0;
		hog[i] = dial_nb(port, 0);
	}
	for (unsigned it = 0; now_ms() - t0 < secs * 1000ull; it++) {
		for (int i = 0; i < EV_CONNS; i++) {
			if (send(hog[i], z, sizeof(z), MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN) {
				close(hog[i]);
				hog[i] = dial_nb(port, 0);
			}
			size_t n = sizeof(buf);
			for (size_t k = 0; k < n; k++)
				buf[k] = pat(v[i].woff + k);
			ssize_t w = send(v[i].fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w > 0)
				v[i].woff += (uint64_t)w;
			int dead = w < 0 && errno != EAGAIN;
			while (!dead && it % 4 == 0) {
				ssize_t r = recv(v[i].fd, buf, sizeof(buf), MSG_DONTWAIT);
				if (r < 0 && errno == EAGAIN)
					break;
				if (r <= 0) {
					dead = 1;
					break;
				}
				for (ssize_t k = 0; k < r; k++)
					if (buf[k] != pat(v[i].roff + (uint64_t)k)) {
						if (!leaked)
							fprintf(stderr, "錯誤:連線收到不是自己的資料(第 %llu 位元組是 0x%02x)\n",
								(unsigned long long)(v[i].roff + (uint64_t)k), buf[k]);
						leaked++;
						dead = 1;
						break;
					}
				v[i].roff += (uint64_t)r;
			}
			if (dead) { /* 被伺服器關閉(逐出):重連,從頭開始 */
				close(v[i].fd);
				v[i].fd = dial_nb(port, 16384);
				v[i].woff = v[i].roff = 0;
				reconnects++;
			}
		}
		usleep(1000);
	}
	for (int i = 0; i < EV_CONNS; i++) {
		close(v[i].fd);
		close(hog[i]);
	}
	printf("leaked=%lu reconnects=%lu\n", leaked, reconnects);
	return leaked ? 1 : 0;
}

/*
 * 以 sock_diag(ss 用的 netlink 介面)精確查一條 127.0.0.1 上 TCP 連線某一端的 tx queue(已寫入、
 * 對方還沒確認)與 rx queue(收到、程式還沒讀)。不用 /proc/net/tcp:前面的測試留下幾萬個 TIME_WAIT 時,
 * 每讀一次都要好幾十毫秒。伺服器程式自己替這條連線暫存的位元組 = 送出的 - 還在路上的 - 伺服器核心還沒讀的
 * - 伺服器核心的送出佇列 - 我們還沒讀的。
 */
static int tcp_queues(unsigned lport, unsigned rport, unsigned long *tx, unsigned long *rx)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = { .nlmsg_len = sizeof(req), .nlmsg_type = SOCK_DIAG_BY_FAMILY, .nlmsg_flags = NLM_F_REQUEST },
		.r = { .sdiag_family = AF_INET, .sdiag_protocol = IPPROTO_TCP, .idiag_states = ~0U,
		       .id = { .idiag_sport = htons((uint16_t)lport), .idiag_dport = htons((uint16_t)rport),
			       .idiag_src = { htonl(INADDR_LOOPBACK) }, .idiag_dst = { htonl(INADDR_LOOPBACK) },
			       .idiag_cookie = { INET_DIAG_NOCOOKIE, INET_DIAG_NOCOOKIE } } },
	};
	char buf[8192];
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = send(fd, &req, sizeof(req), 0) == (ssize_t)sizeof(req) ? recv(fd, buf, sizeof(buf), 0) : -1;
	close(fd);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct inet_diag_msg)) || h->nlmsg_type != SOCK_DIAG_BY_FAMILY)
		return -1;
	struct inet_diag_msg *m = NLMSG_DATA(h);
	*tx = m->idiag_wqueue;
	*rx = m->idiag_rqueue;
	return 0;
}

static unsigned local_port(int fd)
{
	struct sockaddr_in sa;
	socklen_t len = sizeof(sa);

	getsockname(fd, (struct sockaddr *)&sa, &len);
	return ntohs(sa.sin_port);
}

/* 伺服器程式替這條連線暫存的位元組(對端從不讀);還有資料在路上或伺服器還沒讀時回傳 -1 */
static long server_pending(int port, int fd, uint64_t sent)
{
	unsigned long stx, srx, ctx, crx;
	unsigned cport = local_port(fd);

	/* 還有位元組在路上(我們的送出佇列)或伺服器還沒讀:量不準 */
	if (tcp_queues((unsigned)port, cport, &stx, &srx) || tcp_queues(cport, (unsigned)port, &ctx, &crx) || srx || ctx)
		return -1;
	return (long)(sent - stx - crx);
}

/*
 * 一點一點送(從不讀),直到伺服器替這條連線暫存了至少 target 位元組;*sent 是這條連線累計送出的。
 * 每步最多 4 KiB:管線塞滿的那一刻多送的不會超過一步。伺服器關閉了連線就回傳 -1。
 */
static long grow_pending(int port, int fd, uint64_t *sent, long target)
{
	unsigned char buf[16384];
	uint64_t t0 = now_ms();
	long pend = 0;

	memset(buf, 'g', sizeof(buf));
	while (pend < target) {
		/* 管線(我們的接收緩衝區 + 伺服器核心的送出緩衝區)塞滿以後,多送的才會變成伺服器暫存的:每步很小,不會超過太多 */
		size_t step = (size_t)(target - pend) / 4 < 1024 ? 1024 : (size_t)(target - pend) / 4;
		if (step > 4096)
			step = 4096;
		if (now_ms() - t0 > 30000) {
			unsigned long stx = 0, srx = 0, ctx = 0, crx = 0;
			tcp_queues((unsigned)port, local_port(fd), &stx, &srx);
			tcp_queues(local_port(fd), (unsigned)port, &ctx, &crx);
			fprintf(stderr, "錯誤:30 秒內伺服器沒有暫存到 %ld 位元組(現在 %ld;送出 %llu,伺服器核心 rx %lu tx %lu,我們 rx %lu)\n",
				target, pend, (unsigned long long)*sent, srx, stx, crx);
			exit(1);
		}
		ssize_t w = send(fd, buf, step < sizeof(buf) ? step : sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0)
			*sent += (uint64_t)w;
		else if (errno != EAGAIN)
			return -1;
		/* 等伺服器把送來的都讀走才量(量不到就不再送) */
		while ((pend = server_pending(port, fd, *sent)) < 0 && now_ms() - t0 < 20000)
			usleep(2000);
	}
	return pend;
}

/*
 * 同一批事件裡的逐出:V 暫存約 36 KiB、A 約 12 KiB(合計在 --max-output 64K 以下,兩條都還在讀)。
 * 伺服器被 SIGSTOP 時 A、V 先後送來新資料,SIGCONT 後同一批事件裡 A 的資料讓待送合計超過上限,
 * 伺服器逐出最大的 V,而同一批裡 V 的事件還沒處理。伺服器必須活著、V 被關閉、A 照常。
 */
/* 行程還活著(殭屍不算:它可能是測試腳本還沒收屍的子行程) */
static int alive(pid_t pid)
{
	char path[64], st[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (!(f = fopen(path, "r")))
		return 0;
	char *p = fgets(st, sizeof(st), f) ? strrchr(st, ')') : NULL;
	fclose(f);
	return p && p[1] == ' ' && p[2] != 'Z' && p[2] != 'X';
}

static int do_evictbatch(int port, pid_t srv)
{
	unsigned char buf[24576];
	uint64_t sv = 0, sa = 0;
	int v = -1, a = -1, ready = 0;
	long pv = 0, pa = 0;

	memset(buf, 'n', sizeof(buf));
	/*
	 * 伺服器核心的送出緩衝區會自己長大、把暫存的送走,所以在伺服器暫停(SIGSTOP)之後才量:
	 * 暫停時伺服器暫存的位元組不會變。不在目標附近就讓它繼續、補送,太多就換兩條新連線。
	 */
	for (int tries = 0; tries < 20 && !ready; tries++) {
		if (v < 0 || pv > (44 << 10) || pa > (20 << 10)) {
			if (v >= 0) {
				close(v);
				close(a);
			}
			v = dial_nb(port, 16384); /* 小的接收緩衝區:管線很快塞滿 */
			a = dial_nb(port, 16384);
			sv = sa = 0;
		}
		if (grow_pending(port, v, &sv, 36 << 10) < 0 || grow_pending(port, a, &sa, 12 << 10) < 0) {
			fprintf(stderr, "第 %d 次:伺服器提早關閉了連線,換兩條連線重來\n", tries + 1);
			pv = LONG_MAX;
			continue;
		}
		if (kill(srv, SIGSTOP)) {
			fprintf(stderr, "錯誤:無法暫停伺服器(PID %d):%s\n", (int)srv, strerror(errno));
			return 1;
		}
		usleep(100000);
		pv = server_pending(port, v, sv);
		pa = server_pending(port, a, sa);
		ready = pv >= (34 << 10) && pv <= (44 << 10) && pa >= (10 << 10) && pa <= (20 << 10) && pv + pa <= (60 << 10);
		if (!ready) {
			fprintf(stderr, "第 %d 次:伺服器暫存 V=%ld、A=%ld 位元組,不在目標附近,再試\n", tries + 1, pv, pa);
			kill(srv, SIGCONT);
		}
	}
	if (!ready) {
		fprintf(stderr, "錯誤:沒辦法讓伺服器暫存 V≈36K、A≈12K 位元組(最後 V=%ld、A=%ld)\n", pv, pa);
		return 1;
	}
	/* 伺服器暫停中:A 先送(A 的事件排在前面),V 再送 */
	send(a, buf, sizeof(buf), MSG_NOSIGNAL | MSG_DONTWAIT);
	usleep(50000);
	send(v, buf, 1024, MSG_NOSIGNAL | MSG_DONTWAIT);
	usleep(100000);
	kill(srv, SIGCONT);
	usleep(500000);
	if (!alive(srv)) {
		fprintf(stderr, "錯誤:伺服器在同一批事件裡逐出連線後結束了\n");
		return 1;
	}
	close(v);
	close(a);
	printf("通過:V 暫存 %ld、A 暫存 %ld 位元組時同一批事件裡逐出 V,伺服器仍在執行\n", pv, pa);
	return 0;
}

/*
 * 公平的逐出:待送池被一群「送了不讀」的對端塞滿時,一條一直在讀的連線不能被關掉。
 * 用戶端:16 KiB 接收緩衝區,一直送也一直讀,核對每個位元組。它收回 1 MiB 之後(伺服器已經看過它在讀),
 * 不讀者(子行程,像另一台主機)開始:接收緩衝區最小、各送 60000 位元組(比每條連線的上限 64 KiB 少,
 * 不會被節流)後不再讀;被伺服器關閉(TCP 狀態不再是 ESTABLISHED)就立刻重連再送,讓待送池一直是滿的、
 * 一直在逐出。用戶端在這之中再撐 secs 秒,一直不能被關掉。
 */
#define HOG_BYTES 60000
static void hog_loop(int port, unsigned long nhogs, int report_fd)
{
	int *hog = calloc(nhogs, sizeof(int));
	uint32_t *hsent = calloc(nhogs, sizeof(uint32_t));
	static unsigned char z[HOG_BYTES];
	unsigned long reconnects = 0;
	uint64_t last_report = now_ms();

	if (!hog || !hsent)
		_exit(1);
	memset(z, 'h', sizeof(z));
	for (unsigned long i = 0; i < nhogs; i++)
		hog[i] = dial_nb(port, 1); /* 核心把 1 調成最小值(約 2 KiB) */
	for (;;) {
		for (unsigned long i = 0; i < nhogs; i++) {
			struct tcp_info ti;
			socklen_t tl = sizeof(ti);
			if (getsockopt(hog[i], IPPROTO_TCP, TCP_INFO, &ti, &tl) || ti.tcpi_state != TCP_ESTABLISHED) {
				close(hog[i]);
				hog[i] = dial_nb(port, 1);
				hsent[i] = 0;
				reconnects++;
			}
			if (hsent[i] < HOG_BYTES) {
				ssize_t w = send(hog[i], z, HOG_BYTES - hsent[i], MSG_NOSIGNAL | MSG_DONTWAIT);
				if (w > 0)
					hsent[i] += (uint32_t)w;
			}
		}
		if (now_ms() - last_report > 200) { /* 告訴父行程重連了幾次 */
			if (write(report_fd, &reconnects, sizeof(reconnects)) < 0)
				_exit(0);
			last_report = now_ms();
		}
		usleep(1000);
	}
}

static int do_innocent(int port, unsigned long nhogs, unsigned secs)
{
	unsigned char buf[65536];
	uint64_t woff = 0, roff = 0, t0, t_hogs = 0, total = UINT64_MAX;
	unsigned long reconnects = 0, r;
	int pfd[2], fd, rc = 0;

	pid_t child = -1;

	if (pipe(pfd))
		return 1;
	fcntl(pfd[0], F_SETFL, O_NONBLOCK);
	fd = dial_nb(port, 16384);
	t0 = now_ms();
	while (roff < total && !rc) {
		if (child > 0 && total == UINT64_MAX && now_ms() - t_hogs >= secs * 1000ull)
			total = woff; /* 時間到:收完已經送出的就結束 */
		if (child < 0 && roff >= (1u << 20)) { /* 不讀者開始 */
			t_hogs = now_ms();
			child = fork();
			if (child == 0) {
				close(pfd[0]);
				hog_loop(port, nhogs, pfd[1]);
			}
			close(pfd[1]);
		}
		struct pollfd p = { .fd = fd, .events = POLLIN | (woff < total ? POLLOUT : 0) };
		if (now_ms() - t0 > secs * 1000ull + 60000) {
			fprintf(stderr, "錯誤:%u 秒內沒有收完(送 %llu、收 %llu)\n", secs + 60, (unsigned long long)woff,
				(unsigned long long)roff);
			rc = 1;
			break;
		}
		poll(&p, 1, 100);
		if (woff < total) {
			size_t n = total - woff < sizeof(buf) ? (size_t)(total - woff) : sizeof(buf);
			for (size_t k = 0; k < n; k++)
				buf[k] = pat(woff + k);
			ssize_t w = send(fd, buf, n, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w < 0 && errno != EAGAIN) {
				fprintf(stderr, "錯誤:一直在讀的用戶端被關閉了(送出:%s;已送 %llu、已收 %llu)\n", strerror(errno),
					(unsigned long long)woff, (unsigned long long)roff);
				rc = 1;
				break;
			}
			if (w > 0)
				woff += (uint64_t)w;
		}
		for (;;) {
			ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (n < 0 && errno == EAGAIN)
				break;
			if (n <= 0) {
				fprintf(stderr, "錯誤:一直在讀的用戶端被關閉了(%s;已送 %llu、已收 %llu)\n",
					n ? strerror(errno) : "EOF", (unsigned long long)woff, (unsigned long long)roff);
				rc = 1;
				break;
			}
			for (ssize_t k = 0; k < n && !rc; k++)
				if (buf[k] != pat(roff + (uint64_t)k)) {
					fprintf(stderr, "錯誤:第 %llu 位元組不符\n", (unsigned long long)(roff + (uint64_t)k));
					rc = 1;
				}
			roff += (uint64_t)n;
		}
	}
	while (read(pfd[0], &r, sizeof(r)) == (ssize_t)sizeof(r))
		reconnects = r;
	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	close(fd);
	if (!rc)
		printf("通過:%llu 位元組逐位元組核對無誤,%.1f 秒(不讀者開始後 %u 秒);不讀者被關閉後重連 hog_reconnects=%lu\n",
		       (unsigned long long)roff, (double)(now_ms() - t0) / 1000.0, secs, reconnects);
	return rc;
}

/*
 * 伺服器應該拒絕這條連線:從 src 連上、送 64 位元組,逾時內讀到 EOF 或重設而且沒有任何 echo 才算;
 * 收到 echo 就失敗(結束碼 1)。
 */
static int do_refused(int port, unsigned timeout_ms, const char *src)
{
	unsigned char msg[64] = "refused?";
	int fd = dial_from(port, src);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	ssize_t r;

	send(fd, msg, sizeof(msg), MSG_NOSIGNAL);
	if (poll(&p, 1, (int)timeout_ms) <= 0) {
		fprintf(stderr, "錯誤:%u 毫秒內伺服器沒有關閉這條應被拒絕的連線\n", timeout_ms);
		return 1;
	}
	r = recv(fd, msg, sizeof(msg), 0);
	if (r > 0) {
		fprintf(stderr, "錯誤:應被拒絕的連線(來源 %s)收到了 %zd 位元組的 echo\n", src, r);
		return 1;
	}
	printf("通過:來源 %s 的連線被伺服器關閉(%s),沒有 echo\n", src, r ? strerror(errno) : "EOF");
	close(fd);
	return 0;
}

/*
 * 慢速攻擊(slowloris):n 條連線各每 3 秒送 1 個位元組(讀回 echo;被關閉就重連),佔住伺服器的連線數上限。
 * 同時每秒一次,一個從 127.0.0.2 來的新連線送 64 位元組,要在 2 秒內收到完整的 echo。
 */
static int dial_from(int port, const char *src)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	struct sockaddr_in me = { .sin_family = AF_INET };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	inet_pton(AF_INET, src, &me.sin_addr);
	if (fd < 0 || bind(fd, (struct sockaddr *)&me, sizeof(me)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		fprintf(stderr, "錯誤:從 %s 連線到 127.0.0.1:%d 失敗:%s\n", src, port, strerror(errno));
		exit(1);
	}
	return fd;
}

static int do_slowloris(int port, unsigned long n, unsigned secs)
{
	int *fd = calloc(n, sizeof(int));
	uint64_t *next = calloc(n, sizeof(uint64_t)), t0 = now_ms(), worst = 0;
	unsigned long reconnects = 0, probes = 0;
	unsigned char msg[64], buf[64];

	if (!fd || !next)
		return 1;
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = pat(i);
	for (unsigned long i = 0; i < n; i++) {
		fd[i] = dial_nb(port, 0);
		next[i] = t0 + (i * 3000) / n; /* 錯開:任何時候都有三分之一在這一秒內送過 */
	}
	for (uint64_t next_probe = t0 + 1500; now_ms() - t0 < secs * 1000ull;) {
		uint64_t t = now_ms();
		for (unsigned long i = 0; i < n; i++) {
			char b;
			ssize_t r = recv(fd[i], &b, 1, MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN) ||
			    (t >= next[i] && send(fd[i], "s", 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 && errno != EAGAIN)) {
				close(fd[i]);
				fd[i] = dial_nb(port, 0);
				reconnects++;
			}
			if (t >= next[i])
				next[i] = t + 3000;
		}
		if (t >= next_probe) { /* 新來的合法用戶端 */
			int p = dial_from(port, "127.0.0.2");
			size_t got = 0;
			uint64_t ts = now_ms();
			send(p, msg, sizeof(msg), MSG_NOSIGNAL);
			while (got < sizeof(buf)) {
				struct pollfd pf = { .fd = p, .events = POLLIN };
				int left = (int)(2000 - (now_ms() - ts));
				ssize_t r;
				if (left <= 0 || poll(&pf, 1, left) <= 0 || (r = recv(p, buf + got, sizeof(buf) - got, 0)) <= 0) {
					fprintf(stderr, "錯誤:第 %lu 個新連線 2 秒內沒有收到 echo(收到 %zu / 64 位元組;慢速連線重連 %lu 次)\n",
						probes + 1, got, reconnects);
					return 1;
				}
				got += (size_t)r;
			}
			if (memcmp(buf, msg, sizeof(msg))) {
				fprintf(stderr, "錯誤:新連線的 echo 內容不符\n");
				return 1;
			}
			if (now_ms() - ts > worst)
				worst = now_ms() - ts;
			close(p);
			probes++;
			next_probe = now_ms() + 1000;
		}
		usleep(10000);
	}
	for (unsigned long i = 0; i < n; i++)
		close(fd[i]);
	printf("通過:%lu 條慢速連線(每 3 秒 1 位元組)佔著時,%lu 個新連線都在 2 秒內收到 echo(最慢 %llu 毫秒);"
	       "慢速連線被關閉後重連 slow_reconnects=%lu\n",
	       n, probes, (unsigned long long)worst, reconnects);
	free(fd);
	free(next);
	return 0;
}

static unsigned long num(const char *s, unsigned long max)
{
	char *e;
	unsigned long v = strtoul(s, &e, 10);

	if (e == s || *e || v > max) {
		fprintf(stderr, "錯誤:「%s」不是有效的數字\n", s);
		exit(64);
	}
	return v;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "用法:%s stream|halfclose|reset|cycles|hog|hold|zcpin|probe|lateread|evict|evictbatch|innocent|slowloris "
				"埠 數量 [延遲毫秒|秒數|逾時毫秒|位元組]\n", argv[0]);
		return 64;
	}
	int port = (int)num(argv[2], 65535);
	unsigned long n = num(argv[3], 1ul << 40);

	if (!strcmp(argv[1], "stream"))
		return do_stream(port, n, argc > 4 ? (unsigned)num(argv[4], 600000) : 0, 0);
	if (!strcmp(argv[1], "halfclose"))
		return do_stream(port, n, 0, 1);
	if (!strcmp(argv[1], "reset"))
		return do_reset(port, n);
	if (!strcmp(argv[1], "cycles"))
		return do_cycles(port, n);
	if (!strcmp(argv[1], "hog") && argc == 5)
		return do_hog(port, n, (unsigned)num(argv[4], 3600));
	if (!strcmp(argv[1], "hold") && argc == 5)
		return do_hold(port, n, (unsigned)num(argv[4], 3600));
	if (!strcmp(argv[1], "zcpin") && argc == 5)
		return do_zcpin(port, n, (unsigned)num(argv[4], 3600));
	if (!strcmp(argv[1], "sendonly") && argc == 5)
		return do_sendonly(port, n, (unsigned)num(argv[4], 3600));
	if (!strcmp(argv[1], "lateread") && argc == 5)
		return do_lateread(port, n, (unsigned)num(argv[4], 600000));
	if (!strcmp(argv[1], "evictbatch"))
		return do_evictbatch(port, (pid_t)n);
	if (!strcmp(argv[1], "evict"))
		return do_evict(port, (unsigned)n);
	if (!strcmp(argv[1], "innocent") && argc == 5)
		return do_innocent(port, n, (unsigned)num(argv[4], 3600));
	if (!strcmp(argv[1], "slowloris") && argc == 5)
		return do_slowloris(port, n, (unsigned)num(argv[4], 3600));
	if (!strcmp(argv[1], "probe") && (argc == 5 || argc == 6))
		return do_probe(port, n, (unsigned)num(argv[4], 600000), argc == 6 ? argv[5] : NULL);
	if (!strcmp(argv[1], "refused") && argc == 5)
		return do_refused(port, (unsigned)n, argv[4]);
	fprintf(stderr, "錯誤:不認得的子命令「%s」\n", argv[1]);
	return 64;
}
