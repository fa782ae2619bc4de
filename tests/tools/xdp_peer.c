// SPDX-License-Identifier: MIT
/*
 * tests/tools/xdp_peer.c — AF_XDP 測試的對端:以 AF_PACKET 在 veth 上收送原始 frame
 *
 *   xdp_peer send   介面 N PPS [目的MAC [流數]]
 *                                         送出 N 個 UDP frame(目的 198.18.0.1 埠 9),每秒 PPS 個(0 = 全速);
 *                                         流數 > 1 時來源埠輪流用 9000..9000+流數-1(多佇列 veth 依流分散)
 *   xdp_peer count  介面 秒數 UDP埠        計算收到的、目的埠相符的 UDP frame 數(broadcast = 其中送到廣播 MAC 的)
 *   xdp_peer l2fwd  介面 N                送 N 個 frame,檢查回來的 frame MAC 已交換
 *   xdp_peer udpfrag 介面 N               以核心的 UDP socket 送 N 個 3000 位元組的 datagram 到 198.18.0.1 埠 9
 *                                         (MTU 1500 時由核心切成 IPv4 片段)
 *   xdp_peer corpus 介面 目的MAC 目的IP    送出 >= 30 種格式錯誤的 frame 與 5 個合法請求,
 *                                         檢查只有合法請求得到正確回覆
 *   xdp_peer arp    介面 目標IP 來源IP N   廣播 N 個 ARP 請求(問目標IP,發送者填來源IP),
 *                                         計算回答給我們、內容正確的 ARP 回覆(replies=)
 * 輸出一行 key=value 結果;用法錯誤結束碼 64,檢查失敗 1。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../bench/bench_util.h"

#define SRC_IP "198.18.0.2"
#define ID_VALID 0x1111
#define ID_INVALID 0x2222
#define ID_KERNEL 0x3333 /* 應由核心回答(程式不拿):回覆不算對也不算錯,程式的 tx 不含它 */

static int sock, ifindex;
static uint8_t my_mac[6];

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static void open_if(const char *ifname)
{
	struct ifreq ifr = { 0 };
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int big = 8 << 20;

	ifindex = (int)if_nametoindex(ifname);
	if (!ifindex) {
		fprintf(stderr, "錯誤:沒有介面 %s\n", ifname);
		exit(1);
	}
	sock = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	if (sock < 0) {
		fprintf(stderr, "錯誤:AF_PACKET socket 失敗:%s(需要 root)\n", strerror(errno));
		exit(1);
	}
	sll.sll_ifindex = ifindex;
	if (bind(sock, (struct sockaddr *)&sll, sizeof(sll)) < 0) {
		fprintf(stderr, "錯誤:bind %s 失敗:%s\n", ifname, strerror(errno));
		exit(1);
	}
	setsockopt(sock, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof(big));
	setsockopt(sock, SOL_SOCKET, SO_SNDBUFFORCE, &big, sizeof(big));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ioctl(sock, SIOCGIFHWADDR, &ifr);
	memcpy(my_mac, ifr.ifr_hwaddr.sa_data, 6);
}

static void xmit(const uint8_t *f, size_t len)
{
	while (send(sock, f, len, 0) < 0) {
		if (errno == ENOBUFS || errno == EAGAIN) {
			usleep(100);
			continue;
		}
		fprintf(stderr, "錯誤:送出 %zu 位元組失敗:%s\n", len, strerror(errno));
		exit(1);
	}
}

/* 讀一個進來的 frame(忽略自己送出的);逾時回傳 -1 */
static ssize_t recv_in(uint8_t *buf, size_t cap, int timeout_ms)
{
	for (;;) {
		struct pollfd p = { .fd = sock, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);

		if (poll(&p, 1, timeout_ms) <= 0)
			return -1;
		ssize_t n = recvfrom(sock, buf, cap, 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return -1;
		if (from.sll_pkttype != PACKET_OUTGOING)
			return n;
	}
}

/* 乙太網路 + IPv4 + UDP,payload 前 4 位元組是序號 */
static size_t build_udp(uint8_t *f, const uint8_t dst[6], uint32_t seq, uint16_t sport, size_t size)
{
	memset(f, 0, size);
	memcpy(f, dst, 6);
	memcpy(f + 6, my_mac, 6);
	wr16(f + 12, ETH_P_IP);
	uint8_t *ip = f + 14;
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(size - 14));
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	inet_pton(AF_INET, SRC_IP, ip + 12);
	inet_pton(AF_INET, "198.18.0.1", ip + 16);
	wr16(ip + 10, inet_csum(ip, 20, 0));
	uint8_t *udp = ip + 20;
	wr16(udp, sport);
	wr16(udp + 2, 9); /* discard 埠:af_xdp_socket rxdrop / l2fwd 預設拿走的埠 */
	wr16(udp + 4, (uint16_t)(size - 34));
	memcpy(udp + 8, &seq, 4);
	return size;
}

static int do_send(unsigned long n, unsigned long pps, const uint8_t dst[6], unsigned flows)
{
	uint8_t f[128];
	uint64_t t0 = now_ns();

	for (unsigned long i = 0; i < n; i++) {
		if (pps) {
			uint64_t due = t0 + i * 1000000000ull / pps;
			while (now_ns() < due)
				;
		}
		xmit(f, build_udp(f, dst, (uint32_t)i, (uint16_t)(9000 + i % flows), 64));
	}
	printf("sent=%lu\n", n);
	return 0;
}

static int do_count(double secs, unsigned port)
{
	uint8_t buf[4096];
	uint64_t end = now_ns() + (uint64_t)(secs * 1e9), count = 0, bcast = 0;

	while (now_ns() < end) {
		ssize_t n = recv_in(buf, sizeof(buf), 100);
		if (n < 42 || rd16(buf + 12) != ETH_P_IP || buf[23] != IPPROTO_UDP)
			continue;
		unsigned ihl = (buf[14] & 15) * 4u;
		if ((size_t)n < 14 + ihl + 8)
			continue;
		if (rd16(buf + 14 + ihl + 2) == port) {
			count++;
			bcast += !memcmp(buf, "\xff\xff\xff\xff\xff\xff", 6);
		}
	}
	printf("received=%llu broadcast=%llu\n", (unsigned long long)count, (unsigned long long)bcast);
	return 0;
}

static int do_l2fwd(unsigned long n)
{
	uint8_t f[128], buf[4096], fake[6] = { 0x02, 0, 0, 0, 0, 0xaa };
	unsigned long back = 0, bad = 0;

	for (unsigned long i = 0; i < n; i++) {
		xmit(f, build_udp(f, fake, (uint32_t)i, 9000, 64));
		if (i % 64 == 63)
			usleep(1000);
	}
	for (;;) {
		ssize_t r = recv_in(buf, sizeof(buf), 1000);
		if (r < 0)
			break;
		if (r < 64 || rd16(buf + 12) != ETH_P_IP || buf[23] != IPPROTO_UDP)
			continue;
		if (!memcmp(buf, my_mac, 6) && !memcmp(buf + 6, fake, 6))
			back++;
		else if (!memcmp(buf, fake, 6))
			bad++; /* 沒有交換 */
	}
	printf("sent=%lu swapped=%lu unswapped=%lu\n", n, back, bad);
	return back == n && !bad ? 0 : 1;
}

static int do_udpfrag(const char *ifname, unsigned long n)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(9) };
	static uint8_t payload[3000];
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	inet_pton(AF_INET, "198.18.0.1", &to.sin_addr);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, ifname, (socklen_t)strlen(ifname) + 1)) {
		fprintf(stderr, "錯誤:UDP socket:%s\n", strerror(errno));
		return 1;
	}
	for (unsigned long i = 0; i < n; i++) {
		memcpy(payload, &i, sizeof(i));
		if (sendto(s, payload, sizeof(payload), 0, (struct sockaddr *)&to, sizeof(to)) < 0) {
			fprintf(stderr, "錯誤:sendto:%s\n", strerror(errno));
			return 1;
		}
		usleep(2000);
	}
	printf("sent=%lu\n", n);
	return 0;
}

/* ARP 請求(廣播)問 tip、發送者 sip;數正確的回覆:op 2、發送者是 tip、目標是我們(MAC 與 sip) */
static int do_arp(const char *tip_s, const char *sip_s, unsigned long n)
{
	uint8_t f[60] = { 0 }, buf[4096], tip[4], sip[4];
	unsigned long replies = 0, wrong = 0;

	if (inet_pton(AF_INET, tip_s, tip) != 1 || inet_pton(AF_INET, sip_s, sip) != 1) {
		fprintf(stderr, "錯誤:IP 格式錯誤\n");
		return 64;
	}
	memset(f, 0xff, 6);
	memcpy(f + 6, my_mac, 6);
	wr16(f + 12, ETH_P_ARP);
	uint8_t *a = f + 14;
	wr16(a, 1);
	wr16(a + 2, ETH_P_IP);
	a[4] = 6;
	a[5] = 4;
	wr16(a + 6, 1);
	memcpy(a + 8, my_mac, 6);
	memcpy(a + 14, sip, 4);
	memcpy(a + 24, tip, 4);
	for (unsigned long i = 0; i < n; i++) {
		xmit(f, sizeof(f));
		/* 每個請求之後收 50 ms:回覆(程式或核心的)都在這之內 */
		uint64_t until = now_ns() + 50000000ull;
		for (int64_t left; (left = (int64_t)(until - now_ns())) > 0;) {
			ssize_t r = recv_in(buf, sizeof(buf), (int)(left / 1000000) + 1);
			if (r < 42 || rd16(buf + 12) != ETH_P_ARP || rd16(buf + 20) != 2)
				continue;
			if (!memcmp(buf + 28, tip, 4) && !memcmp(buf + 32, my_mac, 6) && !memcmp(buf + 38, sip, 4) &&
			    !memcmp(buf, my_mac, 6))
				replies++;
			else
				wrong++;
		}
	}
	printf("sent=%lu replies=%lu wrong=%lu\n", n, replies, wrong);
	return wrong ? 1 : 0;
}

/* ---- 格式錯誤的語料 ---- */
struct builder {
	uint8_t f[4096];
	size_t len;
	uint8_t dmac[6];
	uint8_t dip[4];
};

static uint8_t *eth(struct builder *b, uint16_t type)
{
	memcpy(b->f, b->dmac, 6);
	memcpy(b->f + 6, my_mac, 6);
	wr16(b->f + 12, type);
	b->len = 14;
	return b->f + 14;
}

static uint8_t *arp(struct builder *b, uint16_t htype, uint16_t ptype, uint8_t hlen, uint8_t plen, uint16_t op,
		    const uint8_t *tip)
{
	uint8_t *a = eth(b, ETH_P_ARP);
	uint8_t sip[4];

	memset(a, 0, 46);
	wr16(a, htype);
	wr16(a + 2, ptype);
	a[4] = hlen;
	a[5] = plen;
	wr16(a + 6, op);
	memcpy(a + 8, my_mac, 6);
	inet_pton(AF_INET, SRC_IP, sip);
	memcpy(a + 14, sip, 4);
	memcpy(a + 24, tip, 4);
	b->len = 14 + 46; /* 補到 60 */
	return a;
}

/* 在 off 處放一個 ICMP echo(IPv4 標頭 ihl 位元組,payload 長度 plen) */
static uint8_t *icmp_at(struct builder *b, size_t off, unsigned ihl, size_t plen, uint16_t id, const uint8_t *dip)
{
	uint8_t *ip = b->f + off;

	memset(ip, 0, ihl + 8 + plen);
	ip[0] = (uint8_t)(0x40 | (ihl / 4));
	wr16(ip + 2, (uint16_t)(ihl + 8 + plen));
	wr16(ip + 4, id);
	ip[8] = 64;
	ip[9] = IPPROTO_ICMP;
	inet_pton(AF_INET, SRC_IP, ip + 12);
	memcpy(ip + 16, dip, 4);
	if (ihl > 20)
		ip[20] = 1; /* NOP 選項 */
	wr16(ip + 10, inet_csum(ip, ihl, 0));
	uint8_t *ic = ip + ihl;
	ic[0] = 8;
	wr16(ic + 4, id);
	wr16(ic + 6, 1);
	for (size_t i = 0; i < plen; i++)
		ic[8 + i] = (uint8_t)i;
	wr16(ic + 2, inet_csum(ic, 8 + plen, 0));
	b->len = off + ihl + 8 + plen;
	if (b->len < 60)
		b->len = 60;
	return ip;
}

static void icmp_frame(struct builder *b, unsigned ihl, size_t plen, uint16_t id)
{
	eth(b, ETH_P_IP);
	icmp_at(b, 14, ihl, plen, id, b->dip);
}

/* tags 層 VLAN 標籤(VID vid,優先權 3)裡的 ICMP echo */
static void vlan_icmp(struct builder *b, int tags, uint16_t vid, uint16_t id)
{
	eth(b, tags == 2 ? ETH_P_8021AD : ETH_P_8021Q);
	size_t off = 14;
	for (int t = 0; t < tags; t++) {
		wr16(b->f + off, (uint16_t)(3 << 13 | vid)); /* TCI */
		wr16(b->f + off + 2, t == tags - 1 ? ETH_P_IP : ETH_P_8021Q);
		off += 4;
	}
	icmp_at(b, off, 20, 56, id, b->dip);
}

static void refix_ip(uint8_t *ip, unsigned ihl)
{
	wr16(ip + 10, 0);
	wr16(ip + 10, inet_csum(ip, ihl, 0));
}

static int do_corpus(const char *dmac_s, const char *dip_s)
{
	struct builder b;
	unsigned m[6];
	uint8_t other_ip[4] = { 198, 18, 0, 99 }, mcast_mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	const uint8_t martian[][4] = { { 224, 0, 0, 1 }, { 255, 255, 255, 255 }, { 127, 0, 0, 1 }, { 0, 0, 0, 0 } };
	int sent = 0, valid = 0;

	if (sscanf(dmac_s, "%x:%x:%x:%x:%x:%x", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5]) != 6 ||
	    inet_pton(AF_INET, dip_s, b.dip) != 1) {
		fprintf(stderr, "錯誤:MAC 或 IP 格式錯誤\n");
		return 64;
	}
	for (int i = 0; i < 6; i++)
		b.dmac[i] = (uint8_t)m[i];

#define SEND() (xmit(b.f, b.len), sent++, usleep(2000))
	uint8_t *ip, *a;
	/* --- 合法請求(應得到回覆) --- */
	arp(&b, 1, ETH_P_IP, 6, 4, 1, b.dip), SEND(), valid++;
	icmp_frame(&b, 20, 56, ID_VALID), SEND(), valid++;
	icmp_frame(&b, 24, 56, ID_KERNEL), SEND();		/* 含 IPv4 選項:交給核心 */
	vlan_icmp(&b, 1, 0, ID_VALID), SEND(), valid++;		/* 802.1p 優先權標籤(VID 0) */
	vlan_icmp(&b, 2, 0, ID_VALID), SEND(), valid++;		/* 兩層,VID 都是 0 */
	icmp_frame(&b, 20, 3840 - 14 - 28, ID_VALID), SEND(), valid++; /* 3840 B frame */

	/* --- 格式錯誤或不該回答的(>= 30 種) --- */
	/* 短於 14 位元組的 runt 無法經 AF_PACKET 送上 veth(核心會補到 14),所以從 14 開始 */
	memset(b.f, 0xab, 64);
	eth(&b, 0), b.len = 14, SEND();					/* 14 位元組,EtherType 0 */
	eth(&b, ETH_P_IP), b.len = 14, SEND();				/* 只有乙太網路標頭 */
	eth(&b, ETH_P_IP), b.len = 15, SEND();				/* IP 只有 1 位元組 */
	eth(&b, ETH_P_ARP), b.len = 14, SEND();				/* ARP 沒有內容 */
	eth(&b, ETH_P_8021Q), b.len = 16, SEND();			/* VLAN 標籤被截斷 */
	vlan_icmp(&b, 2, 0, ID_INVALID), b.len = 20, SEND();		/* QinQ 被截斷 */
	vlan_icmp(&b, 1, 100, ID_INVALID), SEND();			/* VLAN 100:屬於 VLAN 子介面,不是我們 */
	vlan_icmp(&b, 2, 100, ID_INVALID), SEND();			/* QinQ 100/100 */
	eth(&b, ETH_P_8021Q);						/* 三層 VLAN */
	for (int t = 0; t < 3; t++)
		wr16(b.f + 14 + 4 * t, 1), wr16(b.f + 16 + 4 * t, t == 2 ? ETH_P_IP : ETH_P_8021Q);
	icmp_at(&b, 26, 20, 56, ID_INVALID, b.dip), SEND();
	arp(&b, 1, ETH_P_IP, 6, 4, 1, b.dip), b.len = 14 + 20, SEND(); /* ARP 被截斷 */
	arp(&b, 1, ETH_P_IP, 8, 4, 1, b.dip), SEND();			/* hlen 錯 */
	arp(&b, 1, ETH_P_IP, 6, 16, 1, b.dip), SEND();			/* plen 錯 */
	arp(&b, 6, ETH_P_IP, 6, 4, 1, b.dip), SEND();			/* htype 錯 */
	arp(&b, 1, ETH_P_IPV6, 6, 4, 1, b.dip), SEND();			/* ptype 錯 */
	arp(&b, 1, ETH_P_IP, 6, 4, 2, b.dip), SEND();			/* ARP 回覆,不是請求 */
	arp(&b, 1, ETH_P_IP, 6, 4, 1, other_ip), SEND();		/* 問別人的 IP */
	icmp_frame(&b, 20, 56, ID_INVALID), b.len = 14 + 10, SEND();	/* IPv4 標頭被截斷 */
	icmp_frame(&b, 20, 56, ID_INVALID), b.f[14] = 0x65, SEND();	/* 版本 6 */
	icmp_frame(&b, 20, 56, ID_INVALID), b.f[14] = 0x44, SEND();	/* IHL 4 */
	icmp_frame(&b, 20, 8, ID_INVALID), b.f[14] = 0x4f, b.len = 40, SEND(); /* IHL 15 超出 frame */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), wr16(ip + 2, 16), refix_ip(ip, 20), SEND(); /* 總長 < IHL */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), wr16(ip + 2, 1400), refix_ip(ip, 20), SEND(); /* 總長 > frame */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), ip[10] ^= 0xff, SEND(); /* IP 檢查碼錯 */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), wr16(ip + 6, 0x2000), refix_ip(ip, 20), SEND(); /* MF */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), wr16(ip + 6, 0x0010), refix_ip(ip, 20), SEND(); /* 片段位移 */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), wr16(ip + 2, 24), refix_ip(ip, 20), SEND(); /* ICMP 被截斷 */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), ip[22] ^= 0xff, SEND(); /* ICMP 檢查碼錯 */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), ip[20] = 0, wr16(ip + 22, 0),
		wr16(ip + 22, inet_csum(ip + 20, 64, 0)), SEND(); /* echo reply,不是請求 */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), ip[21] = 3, wr16(ip + 22, 0),
		wr16(ip + 22, inet_csum(ip + 20, 64, 0)), SEND(); /* code 不是 0 */
	eth(&b, ETH_P_IP), icmp_at(&b, 14, 20, 56, ID_INVALID, other_ip), SEND(); /* 給別人的 ping */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), ip[9] = IPPROTO_UDP, refix_ip(ip, 20), SEND(); /* UDP */
	ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID), ip[9] = IPPROTO_TCP, refix_ip(ip, 20), SEND(); /* TCP */
	a = eth(&b, ETH_P_IPV6), memset(a, 0, 60), a[0] = 0x60, b.len = 74, SEND(); /* IPv6 */
	a = eth(&b, 0x88b5), memset(a, 0x5a, 46), b.len = 60, SEND();		/* 未知 EtherType */
	a = eth(&b, ETH_P_IP), memset(a, 0xee, 3826), b.len = 3840, SEND();	/* 3840 B 垃圾 */
	ip = b.f + 14, icmp_frame(&b, 20, 3840 - 14 - 28, ID_INVALID), wr16(ip + 2, 4000), refix_ip(ip, 20),
		SEND(); /* 3840 B,總長超出 */
	vlan_icmp(&b, 1, 0, ID_INVALID), b.f[18 + 8] = 0, b.f[18 + 10] ^= 0x55, SEND(); /* 標籤內 IP 檢查碼錯 */
	/* 偽造的來源:回覆不能送到群播 / 廣播 MAC 或 martian IP */
	icmp_frame(&b, 20, 56, ID_INVALID), memcpy(b.f + 6, mcast_mac, 6), SEND();	/* 來源 MAC 群播 */
	icmp_frame(&b, 20, 56, ID_INVALID), memset(b.f + 6, 0xff, 6), SEND();	/* 來源 MAC 廣播 */
	arp(&b, 1, ETH_P_IP, 6, 4, 1, b.dip), memset(b.f + 14 + 8, 0xff, 6), SEND(); /* ARP 發送者 MAC 廣播 */
	for (size_t i = 0; i < sizeof(martian) / sizeof(martian[0]); i++) {
		ip = b.f + 14, icmp_frame(&b, 20, 56, ID_INVALID);
		memcpy(ip + 12, martian[i], 4), refix_ip(ip, 20), SEND(); /* 來源 IP 是 martian */
	}
#undef SEND

	/* 收回覆:合法的應有 valid 個;對無效請求的回覆一律算錯 */
	int good = 0, badr = 0, kern = 0;
	uint8_t buf[4096];
	for (;;) {
		ssize_t n = recv_in(buf, sizeof(buf), 1000);
		if (n < 0)
			break;
		if (n < 14 || (memcmp(buf, my_mac, 6) && !(buf[0] & 1))) /* 給我們的,或群播 / 廣播 */
			continue;
		size_t off = 12;
		uint16_t t = rd16(buf + off);
		while ((t == ETH_P_8021Q || t == ETH_P_8021AD) && (size_t)n >= off + 6)
			off += 4, t = rd16(buf + off);
		off += 2;
		if (t == ETH_P_ARP && (size_t)n >= off + 28 && rd16(buf + off + 6) == 2) {
			if (!memcmp(buf + off + 14, b.dip, 4) && !memcmp(buf + off + 18, my_mac, 6))
				good++;
			else
				badr++;
		} else if (t == ETH_P_IP && (size_t)n >= off + 28 && buf[off + 9] == IPPROTO_ICMP) {
			uint8_t *ipr = buf + off;
			unsigned ihl = (ipr[0] & 15) * 4u, tot = rd16(ipr + 2);
			if (ipr[ihl] != 0)
				continue;
			if ((size_t)n >= off + 28 + 6 && rd16(ipr + ihl + 4) == ID_KERNEL) {
				kern++;
				continue;
			}
			if ((size_t)n < off + tot || inet_csum(ipr, ihl, 0) || inet_csum(ipr + ihl, tot - ihl, 0) ||
			    rd16(ipr + ihl + 4) != ID_VALID)
				badr++;
			else
				good++;
		}
	}
	printf("sent=%d valid=%d malformed=%d good_replies=%d bad_replies=%d kernel_replies=%d\n", sent, valid,
	       sent - valid, good, badr, kern);
	return good == valid && !badr ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "用法:%s send|count|l2fwd|udpfrag|corpus|arp 介面 …\n", argv[0]);
		return 64;
	}
	open_if(argv[2]);
	if (!strcmp(argv[1], "send") && argc >= 5 && argc <= 7) {
		uint8_t dst[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
		unsigned flows = argc == 7 ? (unsigned)strtoul(argv[6], NULL, 10) : 1;
		if (argc >= 6 && sscanf(argv[5], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dst[0], &dst[1], &dst[2], &dst[3],
					&dst[4], &dst[5]) != 6) {
			fprintf(stderr, "錯誤:目的 MAC「%s」格式錯誤\n", argv[5]);
			return 64;
		}
		if (flows < 1 || flows > 50000) {
			fprintf(stderr, "錯誤:流數必須是 1..50000\n");
			return 64;
		}
		return do_send(strtoul(argv[3], NULL, 10), strtoul(argv[4], NULL, 10), dst, flows);
	}
	if (!strcmp(argv[1], "count") && argc == 5)
		return do_count(strtod(argv[3], NULL), (unsigned)strtoul(argv[4], NULL, 10));
	if (!strcmp(argv[1], "l2fwd") && argc == 4)
		return do_l2fwd(strtoul(argv[3], NULL, 10));
	if (!strcmp(argv[1], "udpfrag") && argc == 4)
		return do_udpfrag(argv[2], strtoul(argv[3], NULL, 10));
	if (!strcmp(argv[1], "corpus") && argc == 5)
		return do_corpus(argv[3], argv[4]);
	if (!strcmp(argv[1], "arp") && argc == 6)
		return do_arp(argv[3], argv[4], parse_num(argv[5], "N", 1, 100000));
	fprintf(stderr, "錯誤:不認得的子命令或參數個數錯誤\n");
	return 64;
}
