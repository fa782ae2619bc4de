// SPDX-License-Identifier: MIT
/*
 * bench/pkt_rx.c — AF_XDP 與 DPDK 比較用的傳統收包基準
 *
 *   pkt_rx tpacket3 介面 秒數 [CPU]   AF_PACKET + TPACKET_V3 mmap ring,計算收到的 frame
 *   pkt_rx recvmmsg 埠 秒數 [CPU]     一般 UDP socket,以 recvmmsg 一次收 64 個
 * 兩者都只計數、不處理內容,與 af_xdp_socket -m rxdrop 對等。
 * 執行「秒數」秒或直到 SIGINT/SIGTERM,然後輸出一行:received=N first_to_last_s=T pps=P cpu_s=C
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define BLOCK_SIZE (1 << 20)
#define BLOCK_NR 32
#define FRAME_SIZE 2048

static uint64_t received, first_ns, last_ns;
static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void note(unsigned n)
{
	uint64_t t = now_ns();

	if (!received)
		first_ns = t;
	received += n;
	last_ns = t;
}

static int run_tpacket3(const char *ifname, double secs)
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)), v = TPACKET_V3;
	struct tpacket_req3 req = { .tp_block_size = BLOCK_SIZE, .tp_block_nr = BLOCK_NR, .tp_frame_size = FRAME_SIZE,
				    .tp_frame_nr = BLOCK_SIZE / FRAME_SIZE * BLOCK_NR, .tp_retire_blk_tov = 10 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };

	if (fd < 0 || setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req))) {
		fprintf(stderr, "錯誤:TPACKET_V3 設定失敗:%s(需要 root)\n", strerror(errno));
		return 1;
	}
	uint8_t *ring = mmap(NULL, (size_t)BLOCK_SIZE * BLOCK_NR, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (ring == MAP_FAILED || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "錯誤:綁定 %s 失敗:%s\n", ifname, strerror(errno));
		return 1;
	}
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
	unsigned blk = 0;
	while (now_ns() < end && !stop_flag) {
		struct tpacket_block_desc *bd = (void *)(ring + (size_t)blk * BLOCK_SIZE);
		if (!(bd->hdr.bh1.block_status & TP_STATUS_USER)) {
			struct pollfd p = { .fd = fd, .events = POLLIN | POLLERR };
			poll(&p, 1, 100);
			continue;
		}
		/* 只計算進來的 frame(略過自己送出的) */
		struct tpacket3_hdr *h = (void *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
		unsigned n = 0;
		for (unsigned i = 0; i < bd->hdr.bh1.num_pkts; i++) {
			struct sockaddr_ll *ll = (void *)((uint8_t *)h + TPACKET_ALIGN(sizeof(struct tpacket3_hdr)));
			if (ll->sll_pkttype != PACKET_OUTGOING)
				n++;
			h = (void *)((uint8_t *)h + h->tp_next_offset);
		}
		if (n)
			note(n);
		bd->hdr.bh1.block_status = TP_STATUS_KERNEL;
		blk = (blk + 1) % BLOCK_NR;
	}
	struct tpacket_stats_v3 st;
	socklen_t sl = sizeof(st);
	if (!getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl))
		fprintf(stderr, "TPACKET_V3:核心丟棄 %u 個\n", st.tp_drops);
	return 0;
}

static int run_recvmmsg(int port, double secs)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0), big = 32 << 20;
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	static uint8_t bufs[64][2048];
	struct mmsghdr msgs[64];
	struct iovec iov[64];
	struct timespec to = { 0, 100 * 1000 * 1000 };

	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		fprintf(stderr, "錯誤:綁定 UDP 埠 %d 失敗:%s\n", port, strerror(errno));
		return 1;
	}
	for (int i = 0; i < 64; i++) {
		iov[i] = (struct iovec){ bufs[i], sizeof(bufs[i]) };
		msgs[i] = (struct mmsghdr){ .msg_hdr = { .msg_iov = &iov[i], .msg_iovlen = 1 } };
	}
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9);
	while (now_ns() < end && !stop_flag) {
		int n = recvmmsg(fd, msgs, 64, MSG_WAITFORONE, &to);
		if (n > 0)
			note((unsigned)n);
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			break;
		if (n <= 0) {
			struct pollfd p = { .fd = fd, .events = POLLIN };
			poll(&p, 1, 100);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rusage ru;
	int rc;

	if (argc < 4) {
		fprintf(stderr, "用法:%s tpacket3 介面 秒數 [CPU] | recvmmsg 埠 秒數 [CPU]\n", argv[0]);
		return 64;
	}
	if (argc > 4) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(atoi(argv[4]), &set);
		sched_setaffinity(0, sizeof(set), &set);
	}
	/* SIGINT/SIGTERM:提早結束並照樣印出結果 */
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	double secs = strtod(argv[3], NULL);
	if (!strcmp(argv[1], "tpacket3"))
		rc = run_tpacket3(argv[2], secs);
	else if (!strcmp(argv[1], "recvmmsg"))
		rc = run_recvmmsg(atoi(argv[2]), secs);
	else {
		fprintf(stderr, "錯誤:不認得的模式「%s」\n", argv[1]);
		return 64;
	}
	getrusage(RUSAGE_SELF, &ru);
	double span = received > 1 ? (double)(last_ns - first_ns) / 1e9 : 0;
	printf("received=%llu first_to_last_s=%.3f pps=%.0f cpu_s=%.3f\n", (unsigned long long)received, span,
	       span > 0 ? (double)received / span : 0,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return rc;
}
