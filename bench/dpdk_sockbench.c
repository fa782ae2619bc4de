// SPDX-License-Identifier: MIT
/*
 * bench/dpdk_sockbench.c — DPDK 效能比較的傳統 socket 基準(只用 libc)
 *
 *   dpdk_sockbench tx 介面 秒數   以 AF_PACKET + sendmmsg 在介面上送出 64 位元組 UDP 訊框(產生器)
 *   dpdk_sockbench rx 介面 秒數   以 AF_PACKET + recvmmsg 收封包並計數(傳統的核心收包方式)
 *
 * 結束時印一行 `SOCKBENCH mode=rx|tx packets=N seconds=S pps=P`。需要 root(CAP_NET_RAW)。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64
#define FRAME 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

/* 64 位元組的 UDP 訊框;來源埠隨 i 變化(讓雜湊分散) */
static void build(uint8_t *f, unsigned int i)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x10 }, src[6] = { 0x02, 0, 0, 0, 0, 0x20 };
	uint8_t *ip = f + 14, *udp = f + 34;
	uint16_t c;

	memset(f, 0, FRAME);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = FRAME - 14 - 4; /* 不含 FCS */
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[13] = 79, ip[14] = 0, ip[15] = 2;
	ip[16] = 10, ip[17] = 79, ip[18] = 0, ip[19] = 10;
	c = csum(ip, 20);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	udp[0] = 0x10 | ((i >> 8) & 0x0f);
	udp[1] = i & 0xff;
	udp[2] = 0x13;
	udp[3] = 0x88;
	udp[5] = FRAME - 34 - 4;
}

int main(int argc, char **argv)
{
	static uint8_t bufs[BATCH][2048];
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	struct sockaddr_ll sll = { 0 };
	unsigned long long count = 0;
	double secs, t0, end;
	int fd, tx;

	if (argc != 4 || (strcmp(argv[1], "tx") && strcmp(argv[1], "rx")) || atof(argv[3]) <= 0) {
		fprintf(stderr, "用法:dpdk_sockbench tx|rx 介面 秒數\n");
		return 64;
	}
	tx = !strcmp(argv[1], "tx");
	secs = atof(argv[3]);
	signal(SIGPIPE, SIG_IGN);
	fd = socket(AF_PACKET, SOCK_RAW, tx ? 0 : htons(ETH_P_ALL));
	if (fd < 0) {
		fprintf(stderr, "錯誤:socket(AF_PACKET):%s(需要 root)\n", strerror(errno));
		return 1;
	}
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = tx ? 0 : htons(ETH_P_ALL);
	sll.sll_ifindex = (int)if_nametoindex(argv[2]);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "錯誤:找不到介面 %s\n", argv[2]);
		return 1;
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "錯誤:bind %s:%s\n", argv[2], strerror(errno));
		return 1;
	}
	if (!tx) {
		int sz = 8 << 20;
		struct timeval tv = { 0, 100000 };

		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	for (int i = 0; i < BATCH; i++) {
		if (tx)
			build(bufs[i], (unsigned int)i);
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = tx ? FRAME - 4 : sizeof(bufs[i]);
		memset(&msgs[i], 0, sizeof(msgs[i]));
		msgs[i].msg_hdr.msg_iov = &iov[i];
		msgs[i].msg_hdr.msg_iovlen = 1;
	}
	t0 = now();
	end = t0 + secs;
	while (now() < end) {
		int n = tx ? sendmmsg(fd, msgs, BATCH, 0) : recvmmsg(fd, msgs, BATCH, 0, NULL);

		if (n > 0)
			count += (unsigned long long)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS) {
			fprintf(stderr, "錯誤:%s:%s\n", tx ? "sendmmsg" : "recvmmsg", strerror(errno));
			return 1;
		}
	}
	secs = now() - t0;
	printf("SOCKBENCH mode=%s packets=%llu seconds=%.3f pps=%.0f\n", argv[1], count, secs,
	       count / secs);
	close(fd);
	return 0;
}
