// SPDX-License-Identifier: MIT
/*
 * tests/tools/dpdk_pcap.c — dpdk_packet_processing 測試用的 pcap 產生器與檢查器(只用 libc)
 *
 *   dpdk_pcap gen 目錄 MAC IP   產生 目錄/in.pcap(正常的 ARP、ICMP、UDP、TCP、IPv6…與
 *                               至少 30 種格式錯誤的封包),以及預期結果:
 *                               expect-macswap.pcap、expect-respond.pcap、expect.txt(計數)
 *                               MAC、IP 是受測連接埠的位址(respond 模式的回覆會用到)
 *   dpdk_pcap cmp 預期 實際     逐個訊框比較兩個 pcap(長度與內容),印出第一個差異
 *   dpdk_pcap verify 檔案       檢查每個訊框:IPv4 標頭與 ICMP checksum 正確、ARP reply 欄位一致
 *   dpdk_pcap count 檔案        印出訊框數
 *
 * 結束碼:0 成功,1 檢查不符,64 用法錯誤。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 512
#define MAX_LEN 1600

struct frame {
	uint32_t len;
	uint8_t d[MAX_LEN];
};

/* 期望的計數(與 dpdk_packet_processing 的協定計數同名) */
enum { C_ARP, C_IPV4, C_IPV6, C_TCP, C_UDP, C_ICMP, C_ICMPV6, C_VLAN, C_QINQ, C_OTHER,
       C_MALFORMED, C_MAX };
static const char *const cnames[C_MAX] = { "arp", "ipv4", "ipv6", "tcp", "udp", "icmp",
					   "icmpv6", "vlan", "qinq", "other", "malformed" };

/* 產生器狀態 */
struct gen {
	struct frame in[MAX_FRAMES], swap[MAX_FRAMES], resp[MAX_FRAMES];
	int n_in, n_swap, n_resp, n_malformed_kinds, n_runts;
	uint64_t cnt[C_MAX];
	uint8_t port_mac[6], peer_mac[6];
	uint32_t ip, peer_ip, other_ip; /* 網路位元組順序 */
};

/* ---- pcap 讀寫 -------------------------------------------------------------------- */

static void put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f);
}

static int write_pcap(const char *path, const struct frame *fr, int n)
{
	FILE *f = fopen(path, "wb");

	if (!f) {
		fprintf(stderr, "錯誤:無法寫入 %s:%s\n", path, strerror(errno));
		return -1;
	}
	put32(f, 0xa1b2c3d4);
	put32(f, 2 | 4 << 16);
	put32(f, 0);
	put32(f, 0);
	put32(f, 65535);
	put32(f, 1); /* LINKTYPE_ETHERNET */
	for (int i = 0; i < n; i++) {
		put32(f, 1700000000u + i);
		put32(f, 0);
		put32(f, fr[i].len);
		put32(f, fr[i].len);
		fwrite(fr[i].d, 1, fr[i].len, f);
	}
	return fclose(f) ? -1 : 0;
}

/* 讀取 pcap(微秒或奈秒時間戳記,小端序);回傳訊框數,-1 = 錯誤 */
static int read_pcap(const char *path, struct frame *fr, int max)
{
	uint32_t gh[6], rh[4];
	int n = 0;
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
	while (fread(rh, 4, 4, f) == 4) {
		if (n == max || rh[2] > MAX_LEN) {
			fprintf(stderr, "錯誤:%s 訊框太多或太長\n", path);
			fclose(f);
			return -1;
		}
		fr[n].len = rh[2];
		if (fread(fr[n].d, 1, rh[2], f) != rh[2]) {
			fprintf(stderr, "錯誤:%s 最後一個訊框被截斷\n", path);
			fclose(f);
			return -1;
		}
		n++;
	}
	fclose(f);
	return n;
}

/* ---- checksum 與封包建構 ------------------------------------------------------------ */

static uint16_t csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;

	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static void w16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/* 建構中的封包 */
struct pkt {
	uint8_t d[MAX_LEN];
	uint32_t len;
	uint32_t l3;   /* L3 起點 */
	uint32_t l4;   /* L4 起點 */
};

static void eth(struct gen *g, struct pkt *p, const uint8_t *dst, int tags, uint16_t type)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->d, dst, 6);
	memcpy(p->d + 6, g->peer_mac, 6);
	p->len = 12;
	for (int i = 0; i < tags; i++) {
		w16(p->d + p->len, tags == 2 && i == 0 ? 0x88a8 : 0x8100);
		w16(p->d + p->len + 2, (uint16_t)(100 + i));
		p->len += 4;
	}
	w16(p->d + p->len, type);
	p->len += 2;
	p->l3 = p->len;
}

static void arp(struct gen *g, struct pkt *p, int tags, uint16_t op, uint32_t tip)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t *a;

	eth(g, p, bcast, tags, 0x0806);
	a = p->d + p->l3;
	w16(a, 1);
	w16(a + 2, 0x0800);
	a[4] = 6;
	a[5] = 4;
	w16(a + 6, op);
	memcpy(a + 8, g->peer_mac, 6);
	memcpy(a + 14, &g->peer_ip, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, &tip, 4);
	p->len = p->l3 + 28;
}

/* IPv4 標頭(ihl 以 4 位元組為單位),L4 內容長度 l4len */
static void ipv4(struct gen *g, struct pkt *p, int tags, uint8_t proto, uint32_t dst, int ihl,
		 uint32_t l4len, uint16_t frag)
{
	uint8_t *ip;

	eth(g, p, g->port_mac, tags, 0x0800);
	ip = p->d + p->l3;
	ip[0] = (uint8_t)(0x40 | ihl);
	w16(ip + 2, (uint16_t)(ihl * 4 + l4len));
	w16(ip + 4, 0x1234);
	w16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &g->peer_ip, 4);
	memcpy(ip + 16, &dst, 4);
	for (int i = 20; i < ihl * 4; i++)
		ip[i] = 1; /* NOP 選項 */
	p->l4 = p->l3 + ihl * 4;
	p->len = p->l4 + l4len;
}

static void ipv4_fix(struct pkt *p)
{
	uint8_t *ip = p->d + p->l3;

	w16(ip + 10, 0);
	w16(ip + 10, csum(ip, (ip[0] & 0xf) * 4u));
}

static void icmp_echo(struct gen *g, struct pkt *p, int tags, uint8_t type, uint32_t dst,
		      uint32_t payload)
{
	uint8_t *ic;

	ipv4(g, p, tags, 1, dst, 5, 8 + payload, 0);
	ic = p->d + p->l4;
	ic[0] = type;
	w16(ic + 4, 0x4242);
	w16(ic + 6, 7);
	for (uint32_t i = 0; i < payload; i++)
		ic[8 + i] = (uint8_t)i;
	w16(ic + 2, csum(ic, 8 + payload));
	ipv4_fix(p);
}

static void udp_hdr(struct pkt *p, uint32_t l4len, uint16_t ulen)
{
	uint8_t *u = p->d + p->l4;

	w16(u, 4000);
	w16(u + 2, 5000);
	w16(u + 4, ulen);
	for (uint32_t i = 8; i < l4len; i++)
		u[i] = (uint8_t)('a' + i % 26);
}

static void tcp_hdr(struct pkt *p, int doff)
{
	uint8_t *t = p->d + p->l4;

	w16(t, 40000);
	w16(t + 2, 80);
	t[12] = (uint8_t)(doff << 4);
	t[13] = 0x02; /* SYN */
	w16(t + 14, 65535);
}

static void ipv6(struct gen *g, struct pkt *p, int tags, uint8_t nh, uint32_t plen)
{
	uint8_t *ip;

	eth(g, p, g->port_mac, tags, 0x86dd);
	ip = p->d + p->l3;
	ip[0] = 0x60;
	w16(ip + 4, (uint16_t)plen);
	ip[6] = nh;
	ip[7] = 64;
	ip[8] = 0xfe;
	ip[9] = 0x80;
	ip[23] = 2;
	ip[24] = 0xfe;
	ip[25] = 0x80;
	ip[39] = 1;
	p->l4 = p->l3 + 40;
	p->len = p->l4 + plen;
}

/* ---- 加入訊框與預期結果 ------------------------------------------------------------------ */

/* 加入一個訊框;c1..c3 是它應該計入的類別(-1 = 無) */
static void add(struct gen *g, struct pkt *p, int c1, int c2, int c3)
{
	struct frame *f = &g->in[g->n_in++];

	if (p->len < 60 && c1 != C_MALFORMED && p->len >= 14)
		p->len = 60; /* 乙太網路最短訊框:補零 */
	f->len = p->len;
	memcpy(f->d, p->d, p->len);
	if (c1 >= 0)
		g->cnt[c1]++;
	if (c2 >= 0)
		g->cnt[c2]++;
	if (c3 >= 0)
		g->cnt[c3]++;
	/* macswap:至少 14 位元組的訊框交換 MAC 後送回;更短的丟棄 */
	if (p->len >= 14) {
		struct frame *s = &g->swap[g->n_swap++];

		*s = *f;
		memcpy(s->d, f->d + 6, 6);
		memcpy(s->d + 6, f->d, 6);
	} else {
		g->n_runts++;
	}
}

static void add_bad(struct gen *g, struct pkt *p)
{
	add(g, p, C_MALFORMED, -1, -1);
	g->n_malformed_kinds++;
}

/* 這個訊框在 respond 模式下應有的回覆(呼叫端已加入請求) */
static void expect_arp_reply(struct gen *g, const struct pkt *req)
{
	struct frame *r = &g->resp[g->n_resp++];
	uint8_t *a;

	r->len = g->in[g->n_in - 1].len;
	memcpy(r->d, g->in[g->n_in - 1].d, r->len);
	a = r->d + req->l3;
	memcpy(r->d, g->peer_mac, 6);
	memcpy(r->d + 6, g->port_mac, 6);
	w16(a + 6, 2);
	memcpy(a + 18, g->peer_mac, 6);
	memcpy(a + 24, &g->peer_ip, 4);
	memcpy(a + 8, g->port_mac, 6);
	memcpy(a + 14, &g->ip, 4);
}

static void expect_icmp_reply(struct gen *g, const struct pkt *req)
{
	struct frame *r = &g->resp[g->n_resp++];
	uint8_t *ip, *ic, tmp[4];
	uint32_t iclen;

	r->len = g->in[g->n_in - 1].len;
	memcpy(r->d, g->in[g->n_in - 1].d, r->len);
	memcpy(r->d, g->peer_mac, 6);
	memcpy(r->d + 6, g->port_mac, 6);
	ip = r->d + req->l3;
	memcpy(tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, tmp, 4);
	ic = r->d + req->l4;
	iclen = (uint32_t)(ip[2] << 8 | ip[3]) - (ip[0] & 0xf) * 4u;
	ic[0] = 0;
	w16(ic + 2, 0);
	w16(ic + 2, csum(ic, iclen));
}

static void gen_normal(struct gen *g, int round)
{
	struct pkt p;

	arp(g, &p, 0, 1, g->ip);
	add(g, &p, C_ARP, -1, -1);
	expect_arp_reply(g, &p);
	arp(g, &p, 0, 1, g->other_ip);
	add(g, &p, C_ARP, -1, -1);
	arp(g, &p, 0, 2, g->ip);
	add(g, &p, C_ARP, -1, -1);
	arp(g, &p, 1, 1, g->ip); /* VLAN 裡的 ARP request:回覆保留標籤 */
	add(g, &p, C_ARP, C_VLAN, -1);
	expect_arp_reply(g, &p);

	icmp_echo(g, &p, 0, 8, g->ip, 56 + round);
	add(g, &p, C_IPV4, C_ICMP, -1);
	expect_icmp_reply(g, &p);
	icmp_echo(g, &p, 0, 8, g->ip, 0); /* 42 位元組,補到 60 */
	add(g, &p, C_IPV4, C_ICMP, -1);
	expect_icmp_reply(g, &p);
	icmp_echo(g, &p, 0, 8, g->other_ip, 56);
	add(g, &p, C_IPV4, C_ICMP, -1);
	icmp_echo(g, &p, 0, 0, g->ip, 56);
	add(g, &p, C_IPV4, C_ICMP, -1);
	icmp_echo(g, &p, 1, 8, g->ip, 100);
	add(g, &p, C_IPV4, C_ICMP, C_VLAN);
	expect_icmp_reply(g, &p);

	ipv4(g, &p, 0, 17, g->ip, 5, 8 + 18 + round, 0);
	udp_hdr(&p, 8 + 18 + round, (uint16_t)(8 + 18 + round));
	ipv4_fix(&p);
	add(g, &p, C_IPV4, C_UDP, -1);
	ipv4(g, &p, 0, 6, g->ip, 5, 20, 0);
	tcp_hdr(&p, 5);
	ipv4_fix(&p);
	add(g, &p, C_IPV4, C_TCP, -1);
	ipv4(g, &p, 0, 6, g->ip, 5, 32 + 100, 0);
	tcp_hdr(&p, 8);
	ipv4_fix(&p);
	add(g, &p, C_IPV4, C_TCP, -1);
	ipv4(g, &p, 0, 17, g->ip, 6, 8 + 32, 0); /* 帶選項的 IPv4 */
	udp_hdr(&p, 40, 40);
	ipv4_fix(&p);
	add(g, &p, C_IPV4, C_UDP, -1);
	ipv4(g, &p, 0, 17, g->ip, 5, 3, 100); /* 非第一片段:只有 3 位元組,不解析 L4 */
	ipv4_fix(&p);
	add(g, &p, C_IPV4, -1, -1);
	ipv4(g, &p, 0, 47, g->ip, 5, 24, 0); /* GRE:只計 IPv4 */
	ipv4_fix(&p);
	add(g, &p, C_IPV4, -1, -1);
	ipv4(g, &p, 1, 17, g->ip, 5, 8 + 64, 0);
	udp_hdr(&p, 72, 72);
	ipv4_fix(&p);
	add(g, &p, C_IPV4, C_UDP, C_VLAN);

	ipv6(g, &p, 0, 17, 8 + 32);
	udp_hdr(&p, 40, 40);
	add(g, &p, C_IPV6, C_UDP, -1);
	ipv6(g, &p, 0, 6, 20);
	tcp_hdr(&p, 5);
	add(g, &p, C_IPV6, C_TCP, -1);
	ipv6(g, &p, 0, 58, 8 + 32);
	p.d[p.l4] = 128;
	add(g, &p, C_IPV6, C_ICMPV6, -1);
	ipv6(g, &p, 0, 0, 8 + 16); /* hop-by-hop 擴充標頭 + UDP */
	p.d[p.l4] = 17;
	p.d[p.l4 + 1] = 0;
	p.l4 += 8;
	udp_hdr(&p, 16, 16);
	add(g, &p, C_IPV6, C_UDP, -1);
	ipv6(g, &p, 2, 6, 20); /* QinQ 裡的 IPv6 TCP */
	tcp_hdr(&p, 5);
	add(g, &p, C_IPV6, C_TCP, C_QINQ);
	eth(g, &p, g->port_mac, 0, 0x88cc); /* LLDP:其他 */
	p.len += 40;
	add(g, &p, C_OTHER, -1, -1);
}

static void gen_malformed(struct gen *g)
{
	struct pkt p;

	/* 1-2 乙太網路標頭不完整 */
	eth(g, &p, g->port_mac, 0, 0x0800);
	p.len = 10;
	add_bad(g, &p);
	p.len = 13;
	add_bad(g, &p);
	/* 3 VLAN 標籤被截斷 */
	eth(g, &p, g->port_mac, 1, 0x0800);
	p.len = 16;
	add_bad(g, &p);
	/* 4 QinQ 內層標籤被截斷 */
	eth(g, &p, g->port_mac, 2, 0x0800);
	p.len = 20;
	add_bad(g, &p);
	/* 5 三層 VLAN 標籤 */
	eth(g, &p, g->port_mac, 2, 0x8100);
	w16(p.d + p.len, 300);
	w16(p.d + p.len + 2, 0x0800);
	p.len += 40;
	add_bad(g, &p);
	/* 6 ARP 太短 */
	arp(g, &p, 0, 1, g->ip);
	p.len = p.l3 + 20;
	add_bad(g, &p);
	/* 7 ARP hlen 錯誤 */
	arp(g, &p, 0, 1, g->ip);
	p.d[p.l3 + 4] = 8;
	add_bad(g, &p);
	/* 8 ARP plen 錯誤 */
	arp(g, &p, 0, 1, g->ip);
	p.d[p.l3 + 5] = 16;
	add_bad(g, &p);
	/* 9 IPv4 標頭不完整 */
	ipv4(g, &p, 0, 17, g->ip, 5, 8, 0);
	p.len = p.l3 + 12;
	add_bad(g, &p);
	/* 10 IPv4 版本不是 4 */
	ipv4(g, &p, 0, 17, g->ip, 5, 8, 0);
	udp_hdr(&p, 8, 8);
	p.d[p.l3] = 0x65;
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 11 IHL < 5 */
	ipv4(g, &p, 0, 17, g->ip, 5, 8, 0);
	p.d[p.l3] = 0x44;
	add_bad(g, &p);
	/* 12 IHL 超過訊框 */
	ipv4(g, &p, 0, 17, g->ip, 5, 20, 0);
	p.d[p.l3] = 0x4f;
	p.len = p.l3 + 40;
	w16(p.d + p.l3 + 2, 40);
	add_bad(g, &p);
	/* 13 total_length < IHL*4 */
	ipv4(g, &p, 0, 17, g->ip, 5, 8, 0);
	udp_hdr(&p, 8, 8);
	w16(p.d + p.l3 + 2, 16);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 14 total_length 超過訊框 */
	ipv4(g, &p, 0, 17, g->ip, 5, 8, 0);
	udp_hdr(&p, 8, 8);
	w16(p.d + p.l3 + 2, 1000);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 15 IPv4 標頭 checksum 錯誤 */
	ipv4(g, &p, 0, 17, g->ip, 5, 8, 0);
	udp_hdr(&p, 8, 8);
	ipv4_fix(&p);
	p.d[p.l3 + 10] ^= 0x55;
	add_bad(g, &p);
	/* 16 total_length = 0 */
	ipv4(g, &p, 0, 17, g->ip, 5, 8, 0);
	udp_hdr(&p, 8, 8);
	w16(p.d + p.l3 + 2, 0);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 17 TCP 標頭不完整 */
	ipv4(g, &p, 0, 6, g->ip, 5, 12, 0);
	tcp_hdr(&p, 5);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 18 TCP data offset < 5 */
	ipv4(g, &p, 0, 6, g->ip, 5, 20, 0);
	tcp_hdr(&p, 3);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 19 TCP data offset 超過區段 */
	ipv4(g, &p, 0, 6, g->ip, 5, 24, 0);
	tcp_hdr(&p, 15);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 20 UDP 標頭不完整 */
	ipv4(g, &p, 0, 17, g->ip, 5, 6, 0);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 21 UDP 長度 < 8 */
	ipv4(g, &p, 0, 17, g->ip, 5, 16, 0);
	udp_hdr(&p, 16, 4);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 22 UDP 長度超過 IP 內容 */
	ipv4(g, &p, 0, 17, g->ip, 5, 16, 0);
	udp_hdr(&p, 16, 200);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 23 ICMP 太短 */
	ipv4(g, &p, 0, 1, g->ip, 5, 4, 0);
	p.d[p.l4] = 8;
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 24 ICMP checksum 錯誤 */
	icmp_echo(g, &p, 0, 8, g->ip, 32);
	p.d[p.l4 + 2] ^= 0xff;
	add_bad(g, &p);
	/* 25 IPv4(帶選項)裡的 TCP 被截斷 */
	ipv4(g, &p, 0, 6, g->ip, 7, 10, 0);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 26 IPv6 標頭不完整 */
	ipv6(g, &p, 0, 17, 8);
	p.len = p.l3 + 30;
	add_bad(g, &p);
	/* 27 IPv6 版本不是 6 */
	ipv6(g, &p, 0, 17, 8);
	udp_hdr(&p, 8, 8);
	p.d[p.l3] = 0x40;
	add_bad(g, &p);
	/* 28 IPv6 payload_len 超過訊框 */
	ipv6(g, &p, 0, 17, 8);
	udp_hdr(&p, 8, 8);
	w16(p.d + p.l3 + 4, 500);
	add_bad(g, &p);
	/* 29 IPv6 擴充標頭被截斷 */
	ipv6(g, &p, 0, 0, 4);
	add_bad(g, &p);
	/* 30 IPv6 擴充標頭長度超過 payload */
	ipv6(g, &p, 0, 60, 16);
	p.d[p.l4] = 17;
	p.d[p.l4 + 1] = 5;
	add_bad(g, &p);
	/* 31 IPv6 TCP 被截斷 */
	ipv6(g, &p, 0, 6, 10);
	add_bad(g, &p);
	/* 32 IPv6 UDP 長度錯誤 */
	ipv6(g, &p, 0, 17, 16);
	udp_hdr(&p, 16, 64);
	add_bad(g, &p);
	/* 33 ICMPv6 太短 */
	ipv6(g, &p, 0, 58, 2);
	add_bad(g, &p);
	/* 34 IPv6 payload_len = 0 */
	ipv6(g, &p, 0, 17, 8);
	udp_hdr(&p, 8, 8);
	w16(p.d + p.l3 + 4, 0);
	add_bad(g, &p);
	/* 35 VLAN 裡的 IPv4 被截斷 */
	ipv4(g, &p, 1, 17, g->ip, 5, 8, 0);
	p.len = p.l3 + 10;
	add_bad(g, &p);
	/* 36 QinQ 裡的 IPv4 IHL 錯誤 */
	ipv4(g, &p, 2, 17, g->ip, 5, 8, 0);
	udp_hdr(&p, 8, 8);
	p.d[p.l3] = 0x43;
	add_bad(g, &p);
	/* 37 VLAN 裡的 ARP 被截斷 */
	arp(g, &p, 1, 1, g->ip);
	p.len = p.l3 + 8;
	add_bad(g, &p);
	/* 38 IPv6 fragment 擴充標頭被截斷 */
	ipv6(g, &p, 0, 44, 6);
	add_bad(g, &p);
}

static int parse_mac(const char *s, uint8_t *mac)
{
	unsigned int b[6];

	if (sscanf(s, "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6)
		return -1;
	for (int i = 0; i < 6; i++) {
		if (b[i] > 255)
			return -1;
		mac[i] = (uint8_t)b[i];
	}
	return 0;
}

static int cmd_gen(const char *dir, const char *mac, const char *ip)
{
	static struct gen g;
	static const uint8_t peer[6] = { 0x02, 0, 0, 0, 0, 0x02 };
	char path[4096];
	FILE *f;

	if (parse_mac(mac, g.port_mac) || inet_pton(AF_INET, ip, &g.ip) != 1) {
		fprintf(stderr, "錯誤:MAC 或 IP 格式錯誤:%s %s\n", mac, ip);
		return 64;
	}
	memcpy(g.peer_mac, peer, 6);
	g.peer_ip = htonl(ntohl(g.ip) ^ 3);
	g.other_ip = htonl(ntohl(g.ip) ^ 0x40);
	for (int r = 0; r < 3; r++)
		gen_normal(&g, r);
	gen_malformed(&g);

	snprintf(path, sizeof(path), "%s/in.pcap", dir);
	if (write_pcap(path, g.in, g.n_in))
		return 1;
	snprintf(path, sizeof(path), "%s/expect-macswap.pcap", dir);
	if (write_pcap(path, g.swap, g.n_swap))
		return 1;
	snprintf(path, sizeof(path), "%s/expect-respond.pcap", dir);
	if (write_pcap(path, g.resp, g.n_resp))
		return 1;
	snprintf(path, sizeof(path), "%s/expect.txt", dir);
	f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "frames=%d\nmalformed_kinds=%d\nrunts=%d\nmacswap_tx=%d\nrespond_tx=%d\n",
		g.n_in, g.n_malformed_kinds, g.n_runts, g.n_swap, g.n_resp);
	for (int i = 0; i < C_MAX; i++)
		fprintf(f, "%s=%llu\n", cnames[i], (unsigned long long)g.cnt[i]);
	fclose(f);
	printf("已產生 %d 個訊框(%d 種格式錯誤),macswap 預期送回 %d 個,respond 預期回覆 %d 個\n",
	       g.n_in, g.n_malformed_kinds, g.n_swap, g.n_resp);
	return 0;
}

static int cmd_cmp(const char *a, const char *b)
{
	static struct frame fa[MAX_FRAMES], fb[MAX_FRAMES];
	int na = read_pcap(a, fa, MAX_FRAMES), nb = read_pcap(b, fb, MAX_FRAMES);

	if (na < 0 || nb < 0)
		return 1;
	for (int i = 0; i < na && i < nb; i++) {
		if (fa[i].len != fb[i].len) {
			printf("不符:第 %d 個訊框長度 預期 %u、實際 %u\n", i, fa[i].len, fb[i].len);
			return 1;
		}
		for (uint32_t k = 0; k < fa[i].len; k++) {
			if (fa[i].d[k] != fb[i].d[k]) {
				printf("不符:第 %d 個訊框第 %u 位元組 預期 0x%02x、實際 0x%02x\n", i, k,
				       fa[i].d[k], fb[i].d[k]);
				return 1;
			}
		}
	}
	if (na != nb) {
		printf("不符:訊框數 預期 %d、實際 %d\n", na, nb);
		return 1;
	}
	printf("一致:%d 個訊框\n", na);
	return 0;
}

/* 獨立驗證 respond 的輸出:每個訊框是 ARP reply 或 checksum 正確的 ICMP echo reply */
static int cmd_verify(const char *path)
{
	static struct frame fr[MAX_FRAMES];
	int n = read_pcap(path, fr, MAX_FRAMES), arp_ok = 0, icmp_ok = 0;

	if (n < 0)
		return 1;
	for (int i = 0; i < n; i++) {
		const uint8_t *d = fr[i].d;
		uint32_t off = 12, len = fr[i].len;
		uint16_t type;

		if (len < 14)
			goto bad;
		type = (uint16_t)(d[12] << 8 | d[13]);
		while ((type == 0x8100 || type == 0x88a8) && len >= off + 6) {
			off += 4;
			type = (uint16_t)(d[off] << 8 | d[off + 1]);
		}
		off += 2;
		if (type == 0x0806) {
			const uint8_t *a = d + off;

			if (len < off + 28 || (a[6] << 8 | a[7]) != 2 || memcmp(a + 8, d + 6, 6) ||
			    memcmp(a + 18, d, 6))
				goto bad;
			arp_ok++;
		} else if (type == 0x0800) {
			const uint8_t *ip = d + off;
			uint32_t ihl, tot;

			if (len < off + 20)
				goto bad;
			ihl = (ip[0] & 0xf) * 4u;
			tot = (uint32_t)(ip[2] << 8 | ip[3]);
			if (ihl < 20 || tot < ihl + 8 || len < off + tot || csum(ip, ihl) != 0 ||
			    ip[9] != 1 || ip[ihl] != 0 || csum(ip + ihl, tot - ihl) != 0)
				goto bad;
			icmp_ok++;
		} else {
			goto bad;
		}
		continue;
bad:
		printf("錯誤:第 %d 個訊框不是正確的 ARP reply 或 ICMP echo reply\n", i);
		return 1;
	}
	printf("正確:%d 個 ARP reply、%d 個 ICMP echo reply,checksum 都正確\n", arp_ok, icmp_ok);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "gen"))
		return cmd_gen(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "cmp"))
		return cmd_cmp(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return cmd_verify(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "count")) {
		static struct frame fr[MAX_FRAMES];
		int n = read_pcap(argv[2], fr, MAX_FRAMES);

		if (n < 0)
			return 1;
		printf("%d\n", n);
		return 0;
	}
	fprintf(stderr, "用法:dpdk_pcap gen 目錄 MAC IP | cmp 預期.pcap 實際.pcap | verify 檔案.pcap"
			" | count 檔案.pcap\n");
	return 64;
}
