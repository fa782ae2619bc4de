// SPDX-License-Identifier: MIT
/*
 * tests/tools/dpdk_pcap.c — dpdk_packet_processing 測試與效能比較用的 pcap 工具(只用 libc)
 *
 *   dpdk_pcap gen 目錄 MAC IP   產生 目錄/in.pcap(正常的 ARP、ICMP、UDP、TCP、IPv6、片段、
 *                               跨 mbuf segment 的巨型訊框、respond 不該回覆的 request…
 *                               與至少 40 種格式錯誤的封包),
 *                               以及預期結果:expect-macswap.pcap、expect-respond.pcap、
 *                               expect.txt(計數:--l4-cksum sw 的計數用原名,預設 hw 的計數加 hw_
 *                               前綴;unverified_hw/unverified_sw = L4 checksum 沒有被驗證的封包)。
 *                               MAC、IP 是受測連接埠的位址(respond 用)
 *   dpdk_pcap mix 檔案 N [種子 [大小]]
 *                               產生 N 個真實組成的訊框(IPv4/IPv6、TCP/UDP/ICMP、部分 VLAN,
 *                               60-1514 位元組,checksum 都正確),給效能比較重播;給了大小(64-1518,
 *                               含 4 位元組 FCS)就全部是這個大小(ARP 等非 IP 訊框仍是 60 位元組)
 *   dpdk_pcap cmp 預期 實際     逐個訊框比較兩個 pcap(長度與內容),印出第一個差異
 *   dpdk_pcap verify 檔案       檢查每個訊框:IPv4 標頭與 ICMP checksum 正確、ARP reply 欄位一致
 *   dpdk_pcap count 檔案        印出訊框數
 *   dpdk_pcap repeat 輸入 輸出 N 最小長度
 *                               依序循環輸入裡長度 >= 最小長度的訊框,寫出 N 個(例如大量的巨型訊框)
 *
 * 所有 L4 checksum 都正確(除了刻意做壞的);結束碼:0 成功,1 檢查不符,64 用法錯誤。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FRAMES 256
#define MAX_LEN 9216
#define JUMBO 2950 /* 大於一個 mbuf 的資料區(2048),net_pcap 會串成兩個 segment */

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
	int n_in, n_swap, n_resp, n_malformed_kinds, n_runts, n_jumbo;
	uint64_t cnt[C_MAX];     /* --l4-cksum sw(與 respond)應有的計數 */
	uint64_t cnt_hw[C_MAX];  /* 預設 --l4-cksum hw(網卡沒有判定)應有的計數 */
	int unverified_hw, unverified_sw, n_cksum_bad;
	uint8_t port_mac[6], peer_mac[6];
	uint32_t ip, peer_ip, other_ip; /* 網路位元組順序 */
};

/* ---- pcap 讀寫 -------------------------------------------------------------------- */

static void put32(FILE *f, uint32_t v)
{
	fwrite(&v, 4, 1, f);
}

static FILE *pcap_create(const char *path)
{
	FILE *f = fopen(path, "wb");

	if (!f) {
		fprintf(stderr, "錯誤:無法寫入 %s:%s\n", path, strerror(errno));
		return NULL;
	}
	put32(f, 0xa1b2c3d4);
	put32(f, 2 | 4 << 16);
	put32(f, 0);
	put32(f, 0);
	put32(f, 65535);
	put32(f, 1); /* LINKTYPE_ETHERNET */
	return f;
}

static void pcap_put(FILE *f, const uint8_t *d, uint32_t len, uint32_t i)
{
	put32(f, 1700000000u + i);
	put32(f, 0);
	put32(f, len);
	put32(f, len);
	fwrite(d, 1, len, f);
}

static int write_pcap(const char *path, const struct frame *fr, int n)
{
	FILE *f = pcap_create(path);

	if (!f)
		return -1;
	for (int i = 0; i < n; i++)
		pcap_put(f, fr[i].d, fr[i].len, (uint32_t)i);
	return fclose(f) ? -1 : 0;
}

/* 開啟 pcap(微秒或奈秒時間戳記,小端序)準備逐個讀取 */
static FILE *pcap_open(const char *path)
{
	uint32_t gh[6];
	FILE *f = fopen(path, "rb");

	if (!f) {
		fprintf(stderr, "錯誤:無法開啟 %s:%s\n", path, strerror(errno));
		return NULL;
	}
	if (fread(gh, 4, 6, f) != 6 || (gh[0] != 0xa1b2c3d4 && gh[0] != 0xa1b23c4d)) {
		fprintf(stderr, "錯誤:%s 不是小端序的 pcap 檔\n", path);
		fclose(f);
		return NULL;
	}
	return f;
}

/* 讀下一個訊框:1 = 讀到,0 = 檔案結束,-1 = 錯誤 */
static int pcap_next(FILE *f, const char *path, struct frame *fr)
{
	uint32_t rh[4];

	if (fread(rh, 4, 4, f) != 4)
		return 0;
	if (rh[2] > MAX_LEN) {
		fprintf(stderr, "錯誤:%s 的訊框太長(%u 位元組)\n", path, rh[2]);
		return -1;
	}
	fr->len = rh[2];
	if (fread(fr->d, 1, rh[2], f) != rh[2]) {
		fprintf(stderr, "錯誤:%s 最後一個訊框被截斷\n", path);
		return -1;
	}
	return 1;
}

/* ---- checksum 與封包建構 ------------------------------------------------------------ */

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t s)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		s += (uint32_t)p[len - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)~s;
}

static uint16_t csum(const uint8_t *p, size_t len)
{
	return fold(sum16(p, len, 0));
}

static void w16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

static uint16_t r16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* 建構中的封包 */
struct pkt {
	uint8_t d[MAX_LEN];
	uint32_t len;
	uint32_t l3;   /* L3 起點 */
	uint32_t l4;   /* L4 起點 */
	bool v6;
	int l4ck;      /* 0 = 有可驗證的 L4 checksum,1 = 沒有 checksum(IPv4 UDP 0),2 = 第一個片段(無法驗證) */
};

static void eth(const uint8_t *src, struct pkt *p, const uint8_t *dst, int tags, uint16_t type)
{
	memset(p, 0, sizeof(*p));
	memcpy(p->d, dst, 6);
	memcpy(p->d + 6, src, 6);
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

	eth(g->peer_mac, p, bcast, tags, 0x0806);
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

/* IPv4 標頭(ihl 以 4 位元組為單位),L4 內容長度 l4len;來源 src、目的 dst */
static void ipv4_raw(const uint8_t *smac, const uint8_t *dmac, struct pkt *p, int tags,
		     uint8_t proto, uint32_t src, uint32_t dst, int ihl, uint32_t l4len,
		     uint16_t frag)
{
	uint8_t *ip;

	eth(smac, p, dmac, tags, 0x0800);
	ip = p->d + p->l3;
	ip[0] = (uint8_t)(0x40 | ihl);
	w16(ip + 2, (uint16_t)(ihl * 4 + l4len));
	w16(ip + 4, 0x1234);
	w16(ip + 6, frag);
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, &src, 4);
	memcpy(ip + 16, &dst, 4);
	for (int i = 20; i < ihl * 4; i++)
		ip[i] = 1; /* NOP 選項 */
	p->l4 = p->l3 + ihl * 4;
	p->len = p->l4 + l4len;
}

static void ipv4(struct gen *g, struct pkt *p, int tags, uint8_t proto, uint32_t dst, int ihl,
		 uint32_t l4len, uint16_t frag)
{
	ipv4_raw(g->peer_mac, g->port_mac, p, tags, proto, g->peer_ip, dst, ihl, l4len, frag);
}

static void ipv4_fix(struct pkt *p)
{
	uint8_t *ip = p->d + p->l3;

	w16(ip + 10, 0);
	w16(ip + 10, csum(ip, (ip[0] & 0xf) * 4u));
}

/* IPv6 標頭;來源/目的位址的最後一個位元組為 s、d */
static void ipv6_raw(const uint8_t *smac, const uint8_t *dmac, struct pkt *p, int tags,
		     uint8_t nh, uint32_t plen, uint8_t s, uint8_t d)
{
	uint8_t *ip;

	eth(smac, p, dmac, tags, 0x86dd);
	ip = p->d + p->l3;
	ip[0] = 0x60;
	w16(ip + 4, (uint16_t)plen);
	ip[6] = nh;
	ip[7] = 64;
	ip[8] = 0xfe;
	ip[9] = 0x80;
	ip[23] = s;
	ip[24] = 0xfe;
	ip[25] = 0x80;
	ip[39] = d;
	p->l4 = p->l3 + 40;
	p->len = p->l4 + plen;
	p->v6 = true;
}

static void ipv6(struct gen *g, struct pkt *p, int tags, uint8_t nh, uint32_t plen)
{
	ipv6_raw(g->peer_mac, g->port_mac, p, tags, nh, plen, 2, 1);
}

/*
 * 填入 L4 checksum(TCP、UDP、ICMPv6:虛擬標頭 + L4;ICMP:只有 L4)。n = 涵蓋的 L4 位元組,
 * 可能比 p->len - p->l4 長(片段的 checksum 涵蓋整個資料包,這裡只做正確長度的完整封包)。
 */
static void l4_fix(struct pkt *p, uint8_t proto)
{
	uint8_t *ip = p->d + p->l3, *l4 = p->d + p->l4;
	uint32_t n = p->len - p->l4, s = 0;
	int off = proto == 6 ? 16 : proto == 17 ? 6 : 2;

	if (proto == 17)
		n = r16(l4 + 4);
	w16(l4 + off, 0);
	if (proto != 1) {
		if (p->v6)
			s = sum16(ip + 8, 32, 0);
		else
			s = sum16(ip + 12, 8, 0);
		s += proto + n;
	}
	s = sum16(l4, n, s);
	w16(l4 + off, fold(s) ? fold(s) : (proto == 17 ? 0xffff : 0));
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
	l4_fix(p, 1);
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
	for (uint32_t i = 20; i < p->len - p->l4; i++)
		t[i] = (uint8_t)(i * 7);
}

/* 完整且 checksum 正確的 UDP / TCP */
static void udp4(struct gen *g, struct pkt *p, int tags, int ihl, uint32_t l4len)
{
	ipv4(g, p, tags, 17, g->ip, ihl, l4len, 0);
	udp_hdr(p, l4len, (uint16_t)l4len);
	l4_fix(p, 17);
	ipv4_fix(p);
}

static void tcp4(struct gen *g, struct pkt *p, int tags, uint32_t l4len, int doff)
{
	ipv4(g, p, tags, 6, g->ip, 5, l4len, 0);
	tcp_hdr(p, doff);
	l4_fix(p, 6);
	ipv4_fix(p);
}

/* ---- 加入訊框與預期結果 ------------------------------------------------------------------ */

/* 加入一個訊框;c1..c3 是它應該計入的類別(-1 = 無) */
static void add(struct gen *g, struct pkt *p, int c1, int c2, int c3)
{
	struct frame *f = &g->in[g->n_in++];

	if (p->len < 60 && c1 != C_MALFORMED && p->len >= 14)
		p->len = 60; /* 乙太網路最短訊框:補零 */
	if (p->len > 2048 - 128)
		g->n_jumbo++;
	f->len = p->len;
	memcpy(f->d, p->d, p->len);
	for (int i = 0, c[3] = { c1, c2, c3 }; i < 3; i++) {
		if (c[i] < 0)
			continue;
		g->cnt[c[i]]++;
		g->cnt_hw[c[i]]++;
		/* TCP/UDP/ICMP/ICMPv6 的 checksum:hw(沒有網卡判定)一律未驗證,sw 只有第一個片段未驗證 */
		if (c[i] == C_TCP || c[i] == C_UDP || c[i] == C_ICMP || c[i] == C_ICMPV6) {
			g->unverified_hw += p->l4ck != 1;
			g->unverified_sw += p->l4ck == 2;
		}
	}
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

/* 只有 L4 checksum 錯(或 IPv6 UDP checksum 為 0)的訊框:sw 算 malformed,hw 算 c1..c3 且未驗證 */
static void add_cksum_bad(struct gen *g, struct pkt *p, int c1, int c2, int c3)
{
	add_bad(g, p);
	g->cnt_hw[C_MALFORMED]--;
	for (int i = 0, c[3] = { c1, c2, c3 }; i < 3; i++)
		if (c[i] >= 0)
			g->cnt_hw[c[i]]++;
	g->unverified_hw++;
	g->n_cksum_bad++;
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

	udp4(g, &p, 0, 5, 8 + 18 + round);
	add(g, &p, C_IPV4, C_UDP, -1);
	ipv4(g, &p, 0, 17, g->ip, 5, 8 + 20, 0); /* UDP checksum 0 = 沒有 checksum(IPv4 合法) */
	udp_hdr(&p, 28, 28);
	ipv4_fix(&p);
	p.l4ck = 1;
	add(g, &p, C_IPV4, C_UDP, -1);
	tcp4(g, &p, 0, 20, 5);
	add(g, &p, C_IPV4, C_TCP, -1);
	tcp4(g, &p, 0, 32 + 100, 8);
	add(g, &p, C_IPV4, C_TCP, -1);
	udp4(g, &p, 0, 6, 8 + 32); /* 帶選項的 IPv4 */
	add(g, &p, C_IPV4, C_UDP, -1);
	ipv4(g, &p, 0, 17, g->ip, 5, 3, 100); /* 非第一片段:只有 3 位元組,不解析 L4 */
	ipv4_fix(&p);
	add(g, &p, C_IPV4, -1, -1);
	ipv4(g, &p, 0, 47, g->ip, 5, 24, 0); /* GRE:只計 IPv4 */
	ipv4_fix(&p);
	add(g, &p, C_IPV4, -1, -1);
	udp4(g, &p, 1, 5, 8 + 64);
	add(g, &p, C_IPV4, C_UDP, C_VLAN);

	ipv6(g, &p, 0, 17, 8 + 32);
	udp_hdr(&p, 40, 40);
	l4_fix(&p, 17);
	add(g, &p, C_IPV6, C_UDP, -1);
	ipv6(g, &p, 0, 6, 20);
	tcp_hdr(&p, 5);
	l4_fix(&p, 6);
	add(g, &p, C_IPV6, C_TCP, -1);
	ipv6(g, &p, 0, 58, 8 + 32);
	p.d[p.l4] = 128;
	l4_fix(&p, 58);
	add(g, &p, C_IPV6, C_ICMPV6, -1);
	ipv6(g, &p, 0, 0, 8 + 16); /* hop-by-hop 擴充標頭 + UDP:checksum 的長度不含擴充標頭 */
	p.d[p.l4] = 17;
	p.d[p.l4 + 1] = 0;
	p.l4 += 8;
	udp_hdr(&p, 16, 16);
	l4_fix(&p, 17);
	add(g, &p, C_IPV6, C_UDP, -1);
	ipv6(g, &p, 2, 6, 20); /* QinQ 裡的 IPv6 TCP */
	tcp_hdr(&p, 5);
	l4_fix(&p, 6);
	add(g, &p, C_IPV6, C_TCP, C_QINQ);
	eth(g->peer_mac, &p, g->port_mac, 0, 0x88cc); /* LLDP:其他 */
	p.len += 40;
	add(g, &p, C_OTHER, -1, -1);
}

/*
 * 片段與跨 segment 的巨型訊框:全部是合法的封包。
 * 第一個片段的 UDP 長度涵蓋整個資料包(大於這個片段),checksum 無法驗證。
 */
static void gen_fragments_and_jumbo(struct gen *g)
{
	struct pkt p;

	/* IPv4 第一個片段(MF=1,offset 0):UDP 長度 1008,這個片段只帶 8 + 100 位元組 */
	ipv4(g, &p, 0, 17, g->ip, 5, 8 + 100, 0x2000);
	udp_hdr(&p, 108, 1008);
	w16(p.d + p.l4 + 6, 0x1234); /* checksum 涵蓋整個資料包:這裡無從驗證 */
	ipv4_fix(&p);
	p.l4ck = 2;
	add(g, &p, C_IPV4, C_UDP, -1);
	/* IPv4 第一個片段的 TCP */
	ipv4(g, &p, 0, 6, g->ip, 5, 20 + 100, 0x2000);
	tcp_hdr(&p, 5);
	ipv4_fix(&p);
	p.l4ck = 2;
	add(g, &p, C_IPV4, C_TCP, -1);
	/* IPv6 第一個片段:fragment 標頭 offset 0、M=1,UDP 長度 1008 */
	ipv6(g, &p, 0, 44, 8 + 8 + 100);
	p.d[p.l4] = 17;
	w16(p.d + p.l4 + 2, 0x0001);
	p.l4 += 8;
	udp_hdr(&p, 108, 1008);
	w16(p.d + p.l4 + 6, 0x1234);
	p.l4ck = 2;
	add(g, &p, C_IPV6, C_UDP, -1);
	/* IPv6 非第一片段(offset 1008):只計 IPv6 */
	ipv6(g, &p, 0, 44, 8 + 40);
	p.d[p.l4] = 17;
	w16(p.d + p.l4 + 2, 1008);
	add(g, &p, C_IPV6, -1, -1);
	/* IPv6 atomic fragment(offset 0、M=0):完整的資料包,checksum 要驗證 */
	ipv6(g, &p, 0, 44, 8 + 8 + 24);
	p.d[p.l4] = 17;
	p.l4 += 8;
	udp_hdr(&p, 32, 32);
	l4_fix(&p, 17);
	add(g, &p, C_IPV6, C_UDP, -1);
	/* 2,950 位元組的 IPv4/UDP:net_pcap 把它串成兩個 mbuf segment */
	udp4(g, &p, 0, 5, JUMBO - 14 - 20);
	add(g, &p, C_IPV4, C_UDP, -1);
	/* 巨型 IPv6/TCP(VLAN 裡) */
	ipv6(g, &p, 1, 6, 4000);
	tcp_hdr(&p, 5);
	l4_fix(&p, 6);
	add(g, &p, C_IPV6, C_TCP, C_VLAN);
	/* 巨型 ICMP echo request:respond 以跨 segment 的 checksum 回覆 */
	icmp_echo(g, &p, 0, 8, g->ip, JUMBO - 14 - 20 - 8);
	add(g, &p, C_IPV4, C_ICMP, -1);
	expect_icmp_reply(g, &p);
}

/* ICMP echo request(32 位元組資料),來源/目的 MAC、來源/目的 IP 與 IHL 都可指定 */
static void echo_raw(struct pkt *p, const uint8_t *smac, const uint8_t *dmac, uint32_t src,
		     uint32_t dst, int ihl)
{
	uint8_t *ic;

	ipv4_raw(smac, dmac, p, 0, 1, src, dst, ihl, 8 + 32, 0);
	ic = p->d + p->l4;
	ic[0] = 8;
	w16(ic + 4, 0x4242);
	w16(ic + 6, 9);
	for (int i = 0; i < 32; i++)
		ic[8 + i] = (uint8_t)i;
	l4_fix(p, 1);
	ipv4_fix(p);
}

/*
 * 給我們(g->ip)的 ARP / ICMP request,但 respond 不該回覆;全部是合法的封包,照常計數:
 * IP 選項(record route 要填、source route 要拒絕,不能原樣送回)、多播來源 MAC、
 * 廣播來源 IP(回覆會送給整個網段)、目的 MAC 是別的主機(只有混雜模式才收得到)、
 * ARP 的 sender MAC 是廣播、sender IP 是多播。
 */
static void gen_not_answered(struct gen *g)
{
	static const uint8_t mcast[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 };
	static const uint8_t other[6] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct pkt p;

	echo_raw(&p, g->peer_mac, g->port_mac, g->peer_ip, g->ip, 6);
	add(g, &p, C_IPV4, C_ICMP, -1);
	echo_raw(&p, mcast, g->port_mac, g->peer_ip, g->ip, 5);
	add(g, &p, C_IPV4, C_ICMP, -1);
	echo_raw(&p, g->peer_mac, g->port_mac, 0xffffffffu, g->ip, 5);
	add(g, &p, C_IPV4, C_ICMP, -1);
	echo_raw(&p, g->peer_mac, other, g->peer_ip, g->ip, 5);
	add(g, &p, C_IPV4, C_ICMP, -1);
	arp(g, &p, 0, 1, g->ip);
	memset(p.d + p.l3 + 8, 0xff, 6);
	add(g, &p, C_ARP, -1, -1);
	arp(g, &p, 0, 1, g->ip);
	memcpy(p.d + p.l3 + 14, "\xe0\x00\x00\x01", 4);
	add(g, &p, C_ARP, -1, -1);
}

static void gen_malformed(struct gen *g)
{
	struct pkt p;

	/* 1-2 乙太網路標頭不完整 */
	eth(g->peer_mac, &p, g->port_mac, 0, 0x0800);
	p.len = 10;
	add_bad(g, &p);
	p.len = 13;
	add_bad(g, &p);
	/* 3 VLAN 標籤被截斷 */
	eth(g->peer_mac, &p, g->port_mac, 1, 0x0800);
	p.len = 16;
	add_bad(g, &p);
	/* 4 QinQ 內層標籤被截斷 */
	eth(g->peer_mac, &p, g->port_mac, 2, 0x0800);
	p.len = 20;
	add_bad(g, &p);
	/* 5 三層 VLAN 標籤 */
	eth(g->peer_mac, &p, g->port_mac, 2, 0x8100);
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
	add_cksum_bad(g, &p, C_IPV4, C_ICMP, -1);
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
	/* 39 IPv4 UDP checksum 錯誤 */
	udp4(g, &p, 0, 5, 8 + 40);
	p.d[p.l4 + 6] ^= 0x10;
	add_cksum_bad(g, &p, C_IPV4, C_UDP, -1);
	/* 40 IPv4 TCP checksum 錯誤 */
	tcp4(g, &p, 0, 20 + 30, 5);
	p.d[p.l4 + 20] ^= 0x01;
	add_cksum_bad(g, &p, C_IPV4, C_TCP, -1);
	/* 41 IPv6 UDP checksum 錯誤 */
	ipv6(g, &p, 0, 17, 8 + 24);
	udp_hdr(&p, 32, 32);
	l4_fix(&p, 17);
	p.d[p.l4 + 7] ^= 0x01;
	add_cksum_bad(g, &p, C_IPV6, C_UDP, -1);
	/* 42 IPv6 UDP checksum 為 0(IPv6 不允許) */
	ipv6(g, &p, 0, 17, 8 + 24);
	udp_hdr(&p, 32, 32);
	add_cksum_bad(g, &p, C_IPV6, C_UDP, -1);
	/* 43 IPv6 hop-by-hop 後的 TCP checksum 錯誤 */
	ipv6(g, &p, 0, 0, 8 + 20);
	p.d[p.l4] = 6;
	p.l4 += 8;
	tcp_hdr(&p, 5);
	l4_fix(&p, 6);
	p.d[p.l4 + 16] ^= 0x80;
	add_cksum_bad(g, &p, C_IPV6, C_TCP, -1);
	/* 44 ICMPv6 checksum 錯誤 */
	ipv6(g, &p, 0, 58, 8 + 16);
	p.d[p.l4] = 128;
	l4_fix(&p, 58);
	p.d[p.l4 + 9] ^= 0x01;
	add_cksum_bad(g, &p, C_IPV6, C_ICMPV6, -1);
	/* 45 跨 segment 的巨型訊框:IPv4 total_length 比封包長 */
	udp4(g, &p, 0, 5, JUMBO - 14 - 20);
	w16(p.d + p.l3 + 2, JUMBO + 100);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 46 跨 segment 的巨型訊框:第二個 segment 裡的資料被改(UDP checksum 錯) */
	udp4(g, &p, 0, 5, JUMBO - 14 - 20);
	p.d[JUMBO - 10] ^= 0x5a;
	add_cksum_bad(g, &p, C_IPV4, C_UDP, -1);
	/* 47 IPv4 第一個片段的 UDP 標頭被截斷 */
	ipv4(g, &p, 0, 17, g->ip, 5, 4, 0x2000);
	ipv4_fix(&p);
	add_bad(g, &p);
	/* 48 IPv6 第一個片段的 UDP 長度比片段本身還短 */
	ipv6(g, &p, 0, 44, 8 + 8 + 100);
	p.d[p.l4] = 17;
	w16(p.d + p.l4 + 2, 0x0001);
	p.l4 += 8;
	udp_hdr(&p, 108, 50);
	add_bad(g, &p);
	/* 49 跨 segment 的巨型 ICMP:checksum 錯誤 */
	icmp_echo(g, &p, 0, 8, g->ip, JUMBO - 14 - 20 - 8);
	p.d[JUMBO - 1] ^= 0x01;
	add_cksum_bad(g, &p, C_IPV4, C_ICMP, -1);
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
	gen_fragments_and_jumbo(&g);
	gen_not_answered(&g);
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
	fprintf(f, "frames=%d\nmalformed_kinds=%d\nrunts=%d\nmacswap_tx=%d\nrespond_tx=%d\n"
		   "jumbo=%d\n", g.n_in, g.n_malformed_kinds, g.n_runts, g.n_swap, g.n_resp,
		g.n_jumbo);
	for (int i = 0; i < C_MAX; i++)
		fprintf(f, "%s=%llu\nhw_%s=%llu\n", cnames[i], (unsigned long long)g.cnt[i], cnames[i],
			(unsigned long long)g.cnt_hw[i]);
	fprintf(f, "unverified_hw=%d\nunverified_sw=%d\ncksum_bad=%d\n", g.unverified_hw,
		g.unverified_sw, g.n_cksum_bad);
	fclose(f);
	printf("已產生 %d 個訊框(%d 種格式錯誤、%d 個跨 segment 的巨型訊框),"
	       "macswap 預期送回 %d 個,respond 預期回覆 %d 個\n",
	       g.n_in, g.n_malformed_kinds, g.n_jumbo, g.n_swap, g.n_resp);
	return 0;
}

/* ---- 真實組成的混合流量 ------------------------------------------------------------ */

static uint64_t rng(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/*
 * 大小分布仿網路上常見的 IMIX:一半是最短訊框(TCP ACK、DNS),其餘分散到 1514。
 * 組成:IPv4 約 75%、IPv6 約 20%,ARP 與其他少量;IP 封包中 TCP 約 60%、UDP 約 32%、
 * ICMP/ICMPv6 約 8%;約 10% 帶 VLAN 標籤。來源/目的位址與埠隨機(很多流)。
 */
static void mix_frame(struct pkt *p, uint64_t *s, uint32_t *counts, uint32_t fixed)
{
	uint8_t smac[6] = { 0x02, 0x10, 0, 0, 0, 0 }, dmac[6] = { 0x02, 0x20, 0, 0, 0, 0 };
	uint64_t r = rng(s);
	uint32_t size, pick = r % 100, l3 = (r >> 8) % 100, l4 = (r >> 16) % 100;
	int tags = ((r >> 24) % 10) == 0;
	uint8_t proto;

	smac[5] = (uint8_t)(r >> 32);
	dmac[5] = (uint8_t)(r >> 40);
	if (pick < 50)
		size = 60;
	else if (pick < 75)
		size = 61 + (uint32_t)((r >> 48) % 940);
	else if (pick < 85)
		size = 590;
	else
		size = 1514;
	if (fixed)
		size = fixed - 4; /* 訊框大小含 4 位元組 FCS(64 B = 60 B 資料),和 xdp_livegen 一樣 */
	if (l3 >= 97) { /* ARP 與其他 */
		eth(smac, p, dmac, tags, l3 == 99 ? 0x88cc : 0x0806);
		if (l3 != 99) {
			uint8_t *a = p->d + p->l3;

			w16(a, 1);
			w16(a + 2, 0x0800);
			a[4] = 6;
			a[5] = 4;
			w16(a + 6, 1);
			memcpy(a + 8, smac, 6);
		}
		p->len = 60;
		counts[l3 == 99 ? C_OTHER : C_ARP]++;
		counts[C_VLAN] += (uint32_t)tags;
		return;
	}
	proto = l4 < 60 ? 6 : l4 < 92 ? 17 : 1;
	if (l3 < 77) {
		uint32_t src = htonl(0x0a000000u | (uint32_t)(rng(s) & 0xffffff));
		uint32_t dst = htonl(0xc0a80000u | (uint32_t)(rng(s) & 0xffff));
		uint32_t l4len = size - 14u - 4u * tags - 20;

		if (proto == 6 && l4len < 20)
			l4len = 20;
		ipv4_raw(smac, dmac, p, tags, proto, src, dst, 5, l4len, 0);
		counts[C_IPV4]++;
	} else {
		uint32_t plen = size - 14u - 4u * tags - 40;

		if (plen < 20)
			plen = 20;
		proto = proto == 1 ? 58 : proto;
		ipv6_raw(smac, dmac, p, tags, proto, plen, (uint8_t)rng(s), (uint8_t)rng(s));
		counts[C_IPV6]++;
	}
	for (uint32_t i = p->l4; i < p->len; i++)
		p->d[i] = (uint8_t)rng(s);
	if (proto == 6) {
		p->d[p->l4 + 12] = 5 << 4;
		p->d[p->l4 + 13] = 0x10; /* ACK */
		counts[C_TCP]++;
	} else if (proto == 17) {
		w16(p->d + p->l4 + 4, (uint16_t)(p->len - p->l4));
		counts[C_UDP]++;
	} else {
		p->d[p->l4] = proto == 1 ? 8 : 128; /* echo request */
		p->d[p->l4 + 1] = 0;
		counts[proto == 1 ? C_ICMP : C_ICMPV6]++;
	}
	l4_fix(p, proto);
	if (!p->v6)
		ipv4_fix(p);
	counts[C_VLAN] += (uint32_t)tags;
}

static int cmd_mix(const char *path, const char *ns, const char *seed, const char *fixed)
{
	static struct pkt p;
	uint32_t counts[C_MAX] = { 0 };
	uint64_t s = seed ? strtoull(seed, NULL, 10) : 1;
	long n = strtol(ns, NULL, 10), size = fixed ? strtol(fixed, NULL, 10) : 0;
	uint64_t bytes = 0;
	FILE *f;

	if (n <= 0 || n > 1000000 || s == 0 || (fixed && (size < 64 || size > 1518))) {
		fprintf(stderr, "錯誤:N 必須是 1-1000000,種子不可為 0,大小 64-1518\n");
		return 64;
	}
	f = pcap_create(path);
	if (!f)
		return 1;
	for (long i = 0; i < n; i++) {
		mix_frame(&p, &s, counts, (uint32_t)size);
		pcap_put(f, p.d, p.len, (uint32_t)i);
		bytes += p.len;
	}
	if (fclose(f))
		return 1;
	printf("frames=%ld avg_len=%.0f", n, (double)bytes / (double)n);
	for (int i = 0; i < C_MAX; i++)
		printf(" %s=%u", cnames[i], counts[i]);
	printf("\n");
	return 0;
}

/* ---- 比較與檢查 -------------------------------------------------------------------- */

static int cmd_cmp(const char *a, const char *b)
{
	static struct frame fa, fb;
	FILE *f1 = pcap_open(a), *f2 = pcap_open(b);
	int i = 0, ra, rb, rc = 1;

	if (!f1 || !f2)
		goto out;
	for (;; i++) {
		ra = pcap_next(f1, a, &fa);
		rb = pcap_next(f2, b, &fb);
		if (ra < 0 || rb < 0)
			goto out;
		if (ra != rb) {
			printf("不符:訊框數不同(第 %d 個訊框只在%s裡)\n", i, ra ? "預期" : "實際");
			goto out;
		}
		if (!ra)
			break;
		if (fa.len != fb.len) {
			printf("不符:第 %d 個訊框長度 預期 %u、實際 %u\n", i, fa.len, fb.len);
			goto out;
		}
		for (uint32_t k = 0; k < fa.len; k++)
			if (fa.d[k] != fb.d[k]) {
				printf("不符:第 %d 個訊框第 %u 位元組 預期 0x%02x、實際 0x%02x\n", i, k,
				       fa.d[k], fb.d[k]);
				goto out;
			}
	}
	printf("一致:%d 個訊框\n", i);
	rc = 0;
out:
	if (f1)
		fclose(f1);
	if (f2)
		fclose(f2);
	return rc;
}

/* 一個訊框是正確的 ARP reply 或 checksum 正確的 ICMP echo reply:1 = ARP,2 = ICMP,0 = 否 */
static int reply_kind(const struct frame *fr)
{
	const uint8_t *d = fr->d;
	uint32_t off = 12, len = fr->len;
	uint16_t type;

	if (len < 14)
		return 0;
	type = r16(d + 12);
	while ((type == 0x8100 || type == 0x88a8) && len >= off + 6) {
		off += 4;
		type = r16(d + off);
	}
	off += 2;
	if (type == 0x0806) {
		const uint8_t *a = d + off;

		return len >= off + 28 && r16(a + 6) == 2 && !memcmp(a + 8, d + 6, 6) &&
		       !memcmp(a + 18, d, 6);
	}
	if (type == 0x0800) {
		const uint8_t *ip = d + off;
		uint32_t ihl, tot;

		if (len < off + 20)
			return 0;
		ihl = (ip[0] & 0xf) * 4u;
		tot = r16(ip + 2);
		return ihl >= 20 && tot >= ihl + 8 && len >= off + tot && csum(ip, ihl) == 0 &&
		       ip[9] == 1 && ip[ihl] == 0 && csum(ip + ihl, tot - ihl) == 0 ? 2 : 0;
	}
	return 0;
}

/* 獨立驗證 respond 的輸出 */
static int cmd_verify(const char *path)
{
	static struct frame fr;
	FILE *f = pcap_open(path);
	int n = 0, r, kinds[3] = { 0 };

	if (!f)
		return 1;
	while ((r = pcap_next(f, path, &fr)) > 0) {
		int k = reply_kind(&fr);

		if (!k) {
			printf("錯誤:第 %d 個訊框不是正確的 ARP reply 或 ICMP echo reply\n", n);
			fclose(f);
			return 1;
		}
		kinds[k]++;
		n++;
	}
	fclose(f);
	if (r < 0)
		return 1;
	printf("正確:%d 個 ARP reply、%d 個 ICMP echo reply,checksum 都正確\n", kinds[1],
	       kinds[2]);
	return 0;
}

static int cmd_count(const char *path)
{
	static struct frame fr;
	FILE *f = pcap_open(path);
	int n = 0, r;

	if (!f)
		return 1;
	while ((r = pcap_next(f, path, &fr)) > 0)
		n++;
	fclose(f);
	if (r < 0)
		return 1;
	printf("%d\n", n);
	return 0;
}

static int cmd_repeat(const char *in, const char *out, const char *ns, const char *mins)
{
	static struct frame fr[MAX_FRAMES];
	long n = strtol(ns, NULL, 10), min = strtol(mins, NULL, 10);
	int k = 0, r;
	FILE *f, *o;

	if (n <= 0 || n > 1000000 || min < 0) {
		fprintf(stderr, "錯誤:N 必須是 1-1000000,最小長度不可為負\n");
		return 64;
	}
	f = pcap_open(in);
	if (!f)
		return 1;
	while (k < MAX_FRAMES && (r = pcap_next(f, in, &fr[k])) > 0)
		if (fr[k].len >= (uint32_t)min)
			k++;
	fclose(f);
	if (!k) {
		fprintf(stderr, "錯誤:%s 裡沒有長度 >= %ld 的訊框\n", in, min);
		return 1;
	}
	o = pcap_create(out);
	if (!o)
		return 1;
	for (long i = 0; i < n; i++)
		pcap_put(o, fr[i % k].d, fr[i % k].len, (uint32_t)i);
	if (fclose(o))
		return 1;
	printf("frames=%ld distinct=%d\n", n, k);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 5 && !strcmp(argv[1], "gen"))
		return cmd_gen(argv[2], argv[3], argv[4]);
	if (argc >= 4 && argc <= 6 && !strcmp(argv[1], "mix"))
		return cmd_mix(argv[2], argv[3], argc >= 5 ? argv[4] : NULL, argc == 6 ? argv[5] : NULL);
	if (argc == 4 && !strcmp(argv[1], "cmp"))
		return cmd_cmp(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "verify"))
		return cmd_verify(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "count"))
		return cmd_count(argv[2]);
	if (argc == 6 && !strcmp(argv[1], "repeat"))
		return cmd_repeat(argv[2], argv[3], argv[4], argv[5]);
	fprintf(stderr, "用法:dpdk_pcap gen 目錄 MAC IP | mix 檔案 N [種子 [大小]] | cmp 預期.pcap 實際.pcap"
			" | verify 檔案.pcap | count 檔案.pcap | repeat 輸入 輸出 N 最小長度\n");
	return 64;
}
