// SPDX-License-Identifier: MIT
/*
 * bench/dpdk_sockbench.c — DPDK 效能比較的傳統 socket 基準與產生器(只用 libc)
 *
 *   dpdk_sockbench tx 介面 秒數 [檔案.pcap [每秒封包數 [最多封包數]]]
 *       以 AF_PACKET + sendmmsg(一次 64 個)在介面上送出訊框:預設是 64 位元組的 UDP,
 *       給了 pcap 就依序循環重播其中的訊框(效能比較的真實組成流量、測試的格式錯誤洪水)。
 *       每秒封包數 > 0 時限速(測試要求「收到的 = 送出的」時用),最多封包數 > 0 時送滿就停。
 *   dpdk_sockbench rx 介面 秒數
 *       核心封包 socket 收包的最佳做法:AF_PACKET + TPACKET_V3 mmap 環(一次交出一整個 block,
 *       沒有每個封包的系統呼叫),並且逐一分類每個訊框(VLAN、IPv4/IPv6、TCP/UDP/ICMP),
 *       與 dpdk_packet_processing 的「收 + 解析」同類的工作。
 *
 * 結束時印一行 `SOCKBENCH mode=rx|tx packets=N seconds=S pps=P cpu_ns=T cpu_ns_per_pkt=C …`;
 * cpu_ns 是本行程的 user+sys 時間;rx 另有 drops(環滿被核心丟棄)與各協定計數。
 * 注意:veth 上核心收包的 softirq 大多在送端(tx)的行程裡執行,所以「收一個封包」的完整
 * CPU 成本要把兩邊加起來。需要 root(CAP_NET_RAW)。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

#define BATCH 64
#define MAX_FRAMES 4096
#define MAX_FRAME 1514
#define BLOCK_SIZE (1u << 20)
#define BLOCK_NR 32
#define RING_FRAME 2048

/* 要送的訊框:預設一個 64 位元組 UDP 的 64 個變體,或 pcap 裡的訊框 */
struct frames {
	unsigned int n;
	uint32_t len[MAX_FRAMES];
	uint8_t d[MAX_FRAMES][MAX_FRAME];
};

/* 64 位元組(不含 FCS 為 60)的 UDP 訊框;來源埠隨 i 變化(讓雜湊分散) */
static void build_udp(uint8_t *f, unsigned int i)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x10 }, src[6] = { 0x02, 0, 0, 0, 0, 0x20 };
	uint8_t *ip = f + 14, *udp = f + 34;
	uint16_t c;

	memset(f, 0, 60);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 60 - 14;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[13] = 79, ip[14] = 0, ip[15] = 2;
	ip[16] = 10, ip[17] = 79, ip[18] = 0, ip[19] = 10;
	c = inet_csum(ip, 20, 0);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	udp[0] = 0x10 | ((i >> 8) & 0x0f);
	udp[1] = i & 0xff;
	udp[2] = 0x13;
	udp[3] = 0x88;
	udp[5] = 60 - 34;
}

/* 讀 pcap(小端序;超過 1514 位元組的訊框略過,veth 的 MTU 送不出去) */
static int load_pcap(const char *path, struct frames *fr)
{
	uint32_t gh[6], rh[4];
	uint8_t skip[65536];
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "錯誤:無法開啟 %s:%s\n", path, strerror(errno));
		return -1;
	}
	if (fread(gh, 4, 6, f) != 6 || (gh[0] != 0xa1b2c3d4 && gh[0] != 0xa1b23c4d)) {
		fprintf(stderr, "錯誤:%s 不是小端序的 pcap 檔\n", path);
		fclose(f);
		return -1;
	}
	while (fr->n < MAX_FRAMES && fread(rh, 4, 4, f) == 4) {
		uint8_t *dst = rh[2] <= MAX_FRAME ? fr->d[fr->n] : skip;

		if (rh[2] > sizeof(skip) || fread(dst, 1, rh[2], f) != rh[2]) {
			fprintf(stderr, "錯誤:%s 的訊框被截斷\n", path);
			fclose(f);
			return -1;
		}
		if (rh[2] <= MAX_FRAME && rh[2] >= 14)
			fr->len[fr->n++] = rh[2];
	}
	fclose(f);
	if (!fr->n) {
		fprintf(stderr, "錯誤:%s 沒有可送出的訊框\n", path);
		return -1;
	}
	return 0;
}

static int open_packet_socket(const char *ifname, int proto)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = (uint16_t)htons(proto) };
	int fd = socket(AF_PACKET, SOCK_RAW, htons(proto));

	if (fd < 0) {
		fprintf(stderr, "錯誤:socket(AF_PACKET):%s(需要 root)\n", strerror(errno));
		return -1;
	}
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "錯誤:找不到介面 %s\n", ifname);
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "錯誤:bind %s:%s\n", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static int run_tx(const char *ifname, double secs, const struct frames *fr, uint64_t pps,
		  uint64_t max)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long long count = 0;
	unsigned int next = 0;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), c0 = cpu_ns(), t1, c1;
	int fd = open_packet_socket(ifname, 0);

	if (fd < 0)
		return 1;
	while (now_ns() < end && (!max || count < max)) {
		int n, batch = BATCH;

		if (max && max - count < BATCH)
			batch = (int)(max - count);
		/* 限速:送出的數量不超過經過時間 x 每秒封包數 */
		if (pps && count * 1000000000ull >= (now_ns() - t0) * pps) {
			usleep(200);
			continue;
		}
		/* 這一批從第 next 個訊框開始;沒送出的下一批再送 */
		for (int i = 0; i < batch; i++) {
			unsigned int k = (next + (unsigned int)i) % fr->n;

			iov[i].iov_base = (void *)fr->d[k];
			iov[i].iov_len = fr->len[k];
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(fd, msgs, (unsigned int)batch, 0);
		if (n > 0) {
			count += (unsigned long long)n;
			next = (next + (unsigned int)n) % fr->n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS) {
			fprintf(stderr, "錯誤:sendmmsg:%s\n", strerror(errno));
			close(fd);
			return 1;
		}
	}
	t1 = now_ns();
	c1 = cpu_ns();
	printf("SOCKBENCH mode=tx packets=%llu seconds=%.3f pps=%.0f cpu_ns=%" PRIu64
	       " cpu_ns_per_pkt=%.1f\n", count, (t1 - t0) / 1e9, count / ((t1 - t0) / 1e9), c1 - c0,
	       count ? (double)(c1 - c0) / (double)count : 0.0);
	close(fd);
	return 0;
}

/* 收包端的分類:與 dpdk_packet_processing 同樣的類別(只看標頭,不驗 checksum) */
enum { R_IPV4, R_IPV6, R_TCP, R_UDP, R_ICMP, R_VLAN, R_OTHER, R_MAX };
static const char *const rnames[R_MAX] = { "ipv4", "ipv6", "tcp", "udp", "icmp", "vlan", "other" };

static void classify(const uint8_t *p, uint32_t len, unsigned long long *cnt)
{
	uint32_t off = 14;
	uint16_t type;
	uint8_t proto;

	if (len < 14)
		return;
	type = (uint16_t)(p[12] << 8 | p[13]);
	if ((type == 0x8100 || type == 0x88a8) && len >= 18) {
		cnt[R_VLAN]++;
		type = (uint16_t)(p[16] << 8 | p[17]);
		off = 18;
	}
	if (type == 0x0800 && len >= off + 20) {
		cnt[R_IPV4]++;
		proto = p[off + 9];
	} else if (type == 0x86dd && len >= off + 40) {
		cnt[R_IPV6]++;
		proto = p[off + 6];
	} else {
		cnt[R_OTHER]++;
		return;
	}
	if (proto == 6)
		cnt[R_TCP]++;
	else if (proto == 17)
		cnt[R_UDP]++;
	else if (proto == 1 || proto == 58)
		cnt[R_ICMP]++;
}

static int run_rx(const char *ifname, double secs)
{
	struct tpacket_req3 req = { .tp_block_size = BLOCK_SIZE, .tp_block_nr = BLOCK_NR,
				    .tp_frame_size = RING_FRAME,
				    .tp_frame_nr = BLOCK_SIZE / RING_FRAME * BLOCK_NR,
				    .tp_retire_blk_tov = 10 };
	struct tpacket_stats_v3 st = { 0 };
	socklen_t sl = sizeof(st);
	unsigned long long count = 0, cnt[R_MAX] = { 0 };
	unsigned int blk = 0;
	uint64_t t0, c0, end, t1, c1;
	int v = TPACKET_V3, fd = open_packet_socket(ifname, ETH_P_ALL);
	uint8_t *ring;

	if (fd < 0)
		return 1;
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req))) {
		fprintf(stderr, "錯誤:TPACKET_V3 設定失敗:%s\n", strerror(errno));
		close(fd);
		return 1;
	}
	ring = mmap(NULL, (size_t)BLOCK_SIZE * BLOCK_NR, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		fprintf(stderr, "錯誤:mmap 環:%s\n", strerror(errno));
		close(fd);
		return 1;
	}
	getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl); /* 歸零 */
	t0 = now_ns();
	c0 = cpu_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	while (now_ns() < end) {
		struct tpacket_block_desc *bd = (void *)(ring + (size_t)blk * BLOCK_SIZE);
		struct tpacket3_hdr *h;

		if (!(bd->hdr.bh1.block_status & TP_STATUS_USER)) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			poll(&pfd, 1, 100);
			continue;
		}
		h = (void *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
		for (uint32_t i = 0; i < bd->hdr.bh1.num_pkts; i++) {
			/* 核心已把 VLAN 標籤移到中繼資料(veth 的 rxvlan offload) */
			if (h->tp_status & TP_STATUS_VLAN_VALID)
				cnt[R_VLAN]++;
			classify((uint8_t *)h + h->tp_mac, h->tp_snaplen, cnt);
			h = (void *)((uint8_t *)h + h->tp_next_offset);
		}
		count += bd->hdr.bh1.num_pkts;
		bd->hdr.bh1.block_status = TP_STATUS_KERNEL;
		blk = (blk + 1) % BLOCK_NR;
	}
	t1 = now_ns();
	c1 = cpu_ns();
	sl = sizeof(st);
	getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
	printf("SOCKBENCH mode=rx packets=%llu seconds=%.3f pps=%.0f cpu_ns=%" PRIu64
	       " cpu_ns_per_pkt=%.1f drops=%u", count, (t1 - t0) / 1e9, count / ((t1 - t0) / 1e9),
	       c1 - c0, count ? (double)(c1 - c0) / (double)count : 0.0, st.tp_drops);
	for (int i = 0; i < R_MAX; i++)
		printf(" %s=%llu", rnames[i], cnt[i]);
	printf("\n");
	munmap(ring, (size_t)BLOCK_SIZE * BLOCK_NR);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static struct frames fr;
	double secs;

	uint64_t pps = 0, max = 0;

	if (argc < 4 || argc > 7 || (strcmp(argv[1], "tx") && strcmp(argv[1], "rx")) ||
	    (argc >= 5 && strcmp(argv[1], "tx"))) {
		fprintf(stderr, "用法:dpdk_sockbench tx 介面 秒數 [檔案.pcap [每秒封包數 [最多封包數]]]"
				" | rx 介面 秒數\n");
		return EXIT_USAGE;
	}
	if (argc >= 6)
		pps = parse_num(argv[5], "每秒封包數", 0, 100000000);
	if (argc == 7)
		max = parse_num(argv[6], "最多封包數", 0, 1ull << 40);
	secs = (double)parse_num(argv[3], "秒數", 1, 86400);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "rx"))
		return run_rx(argv[2], secs);
	if (argc >= 5) {
		if (load_pcap(argv[4], &fr))
			return 1;
	} else {
		for (fr.n = 0; fr.n < BATCH; fr.n++) {
			build_udp(fr.d[fr.n], fr.n);
			fr.len[fr.n] = 60;
		}
	}
	return run_tx(argv[2], secs, &fr, pps, max);
}
