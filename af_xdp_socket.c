// SPDX-License-Identifier: MIT
/*
 * af_xdp_socket.c — AF_XDP 示範:在使用者空間直接收送網卡佇列上的封包,只拿自己處理的那些
 *
 * 這個檔案有兩半:
 *   核心半部(#ifdef __bpf__):一個 XDP 程式,Makefile 以 clang -target bpf 編譯,
 *     物件檔嵌進執行檔(.incbin),執行時以 libbpf 載入、以 bpf_link 掛到介面上。它在驅動程式收到封包時
 *     執行,只把「這個模式要處理的」封包導向(redirect)我們的 AF_XDP socket,其他一律 XDP_PASS
 *     交還核心:SSH、TCP、DNS……照常運作。它的設定在一個 map 裡,使用者空間每秒依主機設定更新。
 *   使用者半部:UMEM(與核心共享的封包記憶體,切成固定大小的 frame)加上每個佇列四個 ring。
 *
 * 一個 frame 的一生(respond 模式,對方 ping 我們):
 *
 *   網卡 / veth 佇列 q 收到封包
 *        │
 *        ▼  xsk_take()(核心半部,每個封包執行一次)
 *   ┌────────────────────────────────────────────┐
 *   │ ARP 請求或 ICMP echo,目的是我們的 IPv4,      │── 否 ──▶ XDP_PASS:核心照常處理
 *   │ 而且主機設定讓核心自己也會回答它?(take_cfg) │          (也照主機的設定不回答)
 *   └────────────────────────────────────────────┘
 *        │ 是:bpf_redirect_map(&xsks_map, q)
 *        ▼
 *   核心把封包放進一個空 frame(使用者空間事先經 fill ring 交給核心的)
 *        │ RX ring:{位址, 長度}
 *        ▼
 *   queue_thread() → rx_respond():檢查每一層、就地改寫成回覆
 *        │ TX ring:{位址, 長度},sendto() 叫核心送出
 *        ▼
 *   核心送出 → completion ring 還回位址 → 再放進 fill ring(frame 循環使用,不配置、不複製)
 *
 * 閱讀順序:
 *   1. 共用的定義(兩半都看得到)      4. 資料路徑:四個 engine、TX kick、等待策略、佇列執行緒
 *   2. 核心半部:XDP 程式與五個 map    5. 統計(每秒、總結)、主執行緒的每秒檢查
 *   3. 使用者半部:載入與掛上 XDP 程式 6. 清理
 *      (bpf_link)、依主機設定決定拿   7. 選項、說明與環境檢查(sysctl、netfilter)
 *      什麼、UMEM 與每個佇列的 socket  8. main
 *
 * 模式(-m)與 XDP 程式拿走的封包(其餘全部交給核心):
 *   respond  (預設)對我們 IPv4 位址的 ARP 請求與 ICMP echo 請求(沒有 IP 分片與選項);在使用者空間回覆
 *   rxdrop   UDP 目的埠 --udp-port(預設 9,discard)的封包;只計數、立刻回收
 *   l2fwd    同 rxdrop 的封包;交換 MAC 後從同一個佇列送回(群播 / 廣播 frame 丟棄)
 *   txonly   不掛 XDP 程式、不建 RX ring:只產生 UDP 封包(預設送到 9 埠)
 *   rxdrop / l2fwd 加 --all:拿走佇列上的全部封包(給專用 veth 上的效能量測;核心在這些佇列上什麼都看不到)
 *   任何模式:放不進一個 UMEM frame 的封包(長於 --frame-size 減 256 位元組 headroom,例如 MTU 9000
 *   介面上的大 ping)一律交給核心:導過來只會被丟掉;帶 VLAN 標籤(VID 不是 0)的封包屬於 VLAN 子介面,
 *   也交給核心
 *
 * 佇列:一個編號(0)、一段範圍(0-3)或 all。每個佇列一個 socket、一個執行緒,
 *   全部共用一塊 UMEM(xsk_socket__create_shared,每個佇列有自己的 fill / completion ring)。
 *
 * 對端能做與不能做的事:
 *   - 對端只能送封包。XDP 程式不拿的封包使用者空間根本看不到;拿到的每一層長度與檢查碼都驗證過,
 *     讀取絕不越過 frame。格式錯誤的封包只計數、丟棄。回覆只送回請求的來源,來源是群播 / 廣播 MAC
 *     或不合法 IP(0/8、127/8、224 以上)的請求丟棄:偽造來源無法讓我們把回覆廣播到網段上。
 *   - 記憶體固定:UMEM = 佇列數 × --frames × --frame-size,啟動時一次配置;對端無法讓程式多配置任何東西。
 *     洪水般的流量只會填滿 ring,多出來的由核心丟棄並計數(XDP_STATISTICS);每個請求最多一個回覆。
 *   - 介面消失、被關閉(down),或 respond 回答的介面位址被移除(例如 DHCP 換了位址):2 秒內結束並說明,結束碼 1。
 *   - 主機的決定照樣有效:icmp_echo_ignore_all、icmp_ratemask、arp_ignore、arp_filter、介面 NOARP 讓核心不回答的,
 *     XDP 程式也不拿(交給核心);netfilter 有規則時預設不啟動(--bypass-firewall / --respect-firewall)。
 *     拿走的封包不經過 netfilter:這一點在啟動時說清楚。來源的回程路由不從這個介面出去的 ping(rp_filter 開著時
 *     ARP 也是)交給核心:核心沒有路就不回答,我們也不能替它回答(route_back map,每秒從路由表重算)。
 *   - 我們自己凍住(SIGSTOP、執行緒卡住)時不能吃掉 ARP 與 ping:主執行緒每 100 ms 送心跳,XDP 程式超過 1 秒
 *     沒收到就全部交給核心(HEARTBEAT_MAX_NS),恢復後再接回來。
 *   - 任何結束方式(Ctrl-C、SIGTERM、SIGHUP、SIGQUIT、錯誤、--duration)都會卸下 XDP 程式;以 bpf_link 掛載時
 *     SIGKILL 也一樣(核心在行程消失時卸下)。沒有 bpf_link 的舊核心退回 netlink 掛載:每秒確認掛著的還是我們的
 *     程式,被換掉就結束(結束碼 1,不卸任何東西);被 SIGKILL 留下的程式,下一次執行會認出來並給以 id 指名的
 *     --unload 指令。絕不叫使用者卸下別人的程式。在 nohup 之下 SIGHUP 照 nohup 的意思忽略。
 *
 * 需求:root(或 CAP_NET_ADMIN + CAP_BPF)、Linux 5.10+(bpf_link 掛 XDP 要 5.9+)、libxdp 1.2+(xsk API)、libbpf、
 *       建置時需要 clang(編譯 XDP 程式)。
 *
 * 用法:
 *   sudo ./af_xdp_socket eth0 0                      # 回答對 eth0 IPv4 位址的 ping 與 ARP,其他照常
 *   sudo ./af_xdp_socket -m rxdrop veth0 all         # 所有佇列上、送到 UDP 9 埠的封包:計數
 *   sudo ./af_xdp_socket -m txonly --dst-ip 198.18.0.2 --count 1000 veth0
 *   sudo ./af_xdp_socket --unload 2375 veth0          # 只在舊核心(netlink 掛載)被 SIGKILL 後需要
 *   sudo ./af_xdp_socket --help
 * 一個指令安全地試試看(在自己建立的命名空間裡):sudo make demo
 *
 * 統計(每秒一行,每個佇列一行再加總計;都是「每秒」的變化量):
 *   RX / TX pps;XDP 程式導向(redirect)與交給核心(pass)的封包數;
 *   核心的 XDP_STATISTICS:rx_dropped(沒有空 frame 或其他原因丟棄)、rx_ring_full(RX ring 滿)、
 *   fill_empty(fill ring 空:使用者空間來不及補 frame)、rx_invalid / tx_invalid(無效描述子)。
 * 結束時印出總結與一行 SUMMARY key=value(測試與效能腳本讀這一行)。
 */

/* ======================================================================
 * 1. 兩半共用的定義:XDP 程式的設定(一個 map,執行中可以改)與計數器的格式
 * ====================================================================== */
#include <linux/types.h>

/* XDP 程式此刻可以拿哪些封包。使用者空間依模式與主機設定(sysctl、NOARP、netfilter)算出,
 * 每秒重新檢查,設定改變時整個值一次寫進 map:拿不拿只看這一個 32 位元字組,不會讀到一半新一半舊。 */
enum take_bits {
	TAKE_ARP = 1 << 0,  /* respond:對我們 IPv4 的 ARP 請求 */
	TAKE_ICMP = 1 << 1, /* respond:對我們 IPv4、送到我們 MAC(不是廣播)的 ICMP echo 請求 */
	TAKE_UDP = 1 << 2,  /* rxdrop / l2fwd:UDP 目的埠 port(IPv4 與 IPv6) */
	TAKE_ALL = 1 << 3,  /* rxdrop / l2fwd --all:佇列上的全部封包 */
	TAKE_ARP_RPF = 1 << 4, /* respond:rp_filter 開著:ARP 請求也要回程路由從這個介面出去才拿 */
};

struct take_config {
	__u32 take;    /* enum take_bits 的組合;0 = 全部交給核心 */
	__be32 ipv4;   /* respond:我們的 IPv4 位址 */
	__u8 mac[6];   /* respond:我們的 MAC */
	__be16 port;   /* rxdrop / l2fwd:UDP 目的埠 */
	__u32 max_len; /* 一個 UMEM frame 放得下的最大封包(frame 大小減 headroom);更大的交給核心 */
	/* 掛上這個程式的行程:另一個 af_xdp_socket 看到介面上已有程式時,分辨「還在執行」與「已經不在」 */
	__u32 owner_pid;
	__u64 owner_start; /* 那個行程的啟動時間(/proc/PID/stat 第 22 欄):PID 被重複使用也認得出來 */
};

/* 心跳:使用者空間的主執行緒確認每個佇列執行緒都還在轉之後,把現在的 CLOCK_MONOTONIC(與 bpf_ktime_get_ns
 * 同一個時鐘)寫進 alive map。超過 HEARTBEAT_MAX_NS 沒更新(行程被 SIGSTOP 凍住、執行緒卡住、被 SIGKILL 而
 * netlink 掛載的程式留了下來)時,XDP 程式什麼都不拿、全部交給核心:沒有人讀的 socket 不能吃掉 ARP 與 ping。 */
#define HEARTBEAT_MAX_NS 1000000000ull

/* 回程路由(respond):LPM map 的 key = 前綴長度 + IPv4 位址(網路位元組順序),value = 1 表示到這個前綴的
 * 回覆從我們的介面出去(主路由表的 unicast 路由),0 表示別的(走別的介面、黑洞、本機位址……)。 */
#define ROUTE_MAX 1024
struct route_key {
	__u32 prefixlen;
	__be32 addr;
};

/* 每個佇列一格、每顆 CPU 一份(BPF_MAP_TYPE_PERCPU_ARRAY):XDP 程式寫,使用者空間加總 */
struct queue_counters {
	__u64 redirected; /* 交給我們的 AF_XDP socket */
	__u64 passed;	  /* 交還核心(XDP_PASS) */
};

#ifdef __bpf__
/* ======================================================================
 * 2. 核心半部:XDP 程式(clang -O2 -g -target bpf 編譯;受 verifier 檢查的受限 C)
 * ====================================================================== */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

/* XSKMAP:key = 佇列編號,value = 該佇列的 AF_XDP socket(由使用者空間 xsk_socket__update_xskmap 放入)。
 * max_entries 在載入前由使用者空間改成介面的佇列數。 */
struct {
	__uint(type, BPF_MAP_TYPE_XSKMAP);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u32);
} xsks_map SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, struct queue_counters);
} queue_stats SEC(".maps");

/* 設定放在 map(一格)而不是 .rodata:.rodata 在載入後就凍結了,主機設定在執行中改變時要能跟著改 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct take_config);
} take_cfg SEC(".maps");

/* 一格 __u64:最近一次心跳的時間(ns,CLOCK_MONOTONIC);分開一個 map,每 100 ms 只寫 8 位元組,不動 take_cfg */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} alive SEC(".maps");

/* 使用者空間每秒從路由表算出(見 sync_routes);XDP 程式以請求的來源位址查最長前綴 */
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, ROUTE_MAX);
	__type(key, struct route_key);
	__type(value, __u8);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* LPM trie 一定要這個旗標 */
} route_back SEC(".maps");

struct vlan_hdr {
	__be16 tci;
	__be16 proto;
};

/* ARP(乙太網路 / IPv4)固定 28 位元組;位址欄位沒有對齊,逐位元組比較 */
struct arp_eth_ipv4 {
	__be16 htype, ptype;
	__u8 hlen, plen;
	__be16 op;
	__u8 sha[6], sip[4], tha[6], tip[4];
};

static __always_inline int same_ipv4(const __u8 *p, __be32 ip)
{
	const __u8 *want = (const __u8 *)&ip;

	return p[0] == want[0] && p[1] == want[1] && p[2] == want[2] && p[3] == want[3];
}

/* 目的 MAC 是我們的(bcast_ok 時廣播也算) */
static __always_inline int for_our_mac(const struct ethhdr *eth, const struct take_config *cfg, int bcast_ok)
{
	int ours = 1, bcast = bcast_ok;

#pragma unroll
	for (int i = 0; i < 6; i++) {
		ours &= eth->h_dest[i] == cfg->mac[i];
		bcast &= eth->h_dest[i] == 0xff;
	}
	return ours | bcast;
}

/*
 * 核心只在有一條回到來源的路時才回答 ping(回覆要走路由);rp_filter 開著時連 ARP 請求都要通過來源檢查
 * (rp_filter 關著時核心回答 ARP 不看路由,TAKE_ARP_RPF 就不設)。
 * 所以只拿回程路由從這個介面出去的請求;沒有路由、走別的介面、黑洞都交給核心,由它照主機的路由與 rp_filter 決定。
 * (bpf_fib_lookup 在介面的 IPv4 forwarding 關閉時一律回 FWD_DISABLED,一般主機正是如此,所以改查使用者空間
 * 從路由表算好的 LPM map。)
 */
static __always_inline int route_back_ok(__be32 src)
{
	struct route_key k = { 32, src };
	__u8 *v = bpf_map_lookup_elem(&route_back, &k);

	return v && *v;
}

/*
 * respond:對我們 IP 的 ARP 請求(目的 MAC 是我們的或廣播),與對我們 IP、送到我們 MAC、沒有分片、
 * 沒有 IP 選項的 ICMP echo 請求。送到廣播 / 群播 MAC 或廣播 / 群播 IP 的 ping 一律交給核心:
 * 它依 icmp_echo_ignore_broadcasts 與 drop_unicast_in_l2_multicast 決定回不回答。
 */
static __always_inline int take_respond(const struct ethhdr *eth, const struct take_config *cfg, __u32 take,
					__be16 proto, void *l3, void *end)
{
	if (proto == bpf_htons(ETH_P_ARP)) {
		struct arp_eth_ipv4 *a = l3;
		if (!(take & TAKE_ARP) || !for_our_mac(eth, cfg, 1) || (void *)(a + 1) > end)
			return 0;
		if (a->op != bpf_htons(1) || !same_ipv4(a->tip, cfg->ipv4))
			return 0;
		__be32 sip;
		__builtin_memcpy(&sip, a->sip, 4);
		return !(take & TAKE_ARP_RPF) || route_back_ok(sip);
	}
	if (proto != bpf_htons(ETH_P_IP) || !(take & TAKE_ICMP) || !for_our_mac(eth, cfg, 0))
		return 0;
	struct iphdr *ip = l3;
	/* IP 選項(記錄路由、時間戳、來源路由)交給核心:回覆裡要更新或拒絕,使用者空間只會原樣送回 */
	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl != 5 || ip->protocol != IPPROTO_ICMP)
		return 0;
	if (ip->daddr != cfg->ipv4 || (ip->frag_off & bpf_htons(0x3fff)))
		return 0; /* 分片交給核心重組(ping -s 3000 由核心回答) */
	__u8 *icmp_type = (__u8 *)(ip + 1);
	if ((void *)(icmp_type + 1) > end || *icmp_type != 8) /* ICMP_ECHO */
		return 0;
	return route_back_ok(ip->saddr);
}

/* rxdrop / l2fwd:UDP 目的埠(IPv4 沒有分片:片段全部交給核心重組;IPv6 沒有延伸標頭) */
static __always_inline int take_udp(__be16 proto, void *l3, void *end, __be16 port)
{
	struct udphdr *udp;

	if (proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = l3;
		if ((void *)(ip + 1) > end || ip->ihl < 5 || ip->protocol != IPPROTO_UDP ||
		    (ip->frag_off & bpf_htons(0x3fff)))
			return 0;
		udp = (void *)((__u8 *)ip + ip->ihl * 4);
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = l3;
		if ((void *)(ip6 + 1) > end || ip6->nexthdr != IPPROTO_UDP)
			return 0;
		udp = (void *)(ip6 + 1);
	} else {
		return 0;
	}
	if ((void *)(udp + 1) > end)
		return 0;
	return udp->dest == port;
}

static __always_inline int wanted(const struct take_config *cfg, void *data, void *end)
{
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__u32 take = *(volatile const __u32 *)&cfg->take; /* 只讀一次:這個封包從頭到尾依同一份設定決定 */
	__be16 proto;

	/* 放不進一個 UMEM frame 的封包(例如 MTU 9000 介面上的大 ping)導過來只會被丟掉:交給核心 */
	if (!take || (void *)((__u8 *)data + cfg->max_len + 1) <= end)
		return 0;
	if (take & TAKE_ALL)
		return 1;
	if (l3 > end)
		return 0;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < 2; i++) { /* 最多兩層標籤(802.1Q / 802.1ad),VID 都要是 0 */
		struct vlan_hdr *vh = l3;
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			break;
		/* VID 不是 0 的封包屬於 VLAN 子介面(eth0.100)與它的位址,不是這個介面的:交給核心,
		 * 它有那個子介面就處理,沒有就丟。VID 0 是只帶優先權的 802.1p 標籤,屬於這個介面。 */
		if ((void *)(vh + 1) > end || (vh->tci & bpf_htons(0x0fff)))
			return 0;
		proto = vh->proto;
		l3 = vh + 1;
	}
	if (take & TAKE_UDP)
		return take_udp(proto, l3, end, cfg->port);
	return take_respond(eth, cfg, take, proto, l3, end);
}

SEC("xdp")
int xsk_take(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 q = ctx->rx_queue_index, zero = 0;
	struct take_config *cfg = bpf_map_lookup_elem(&take_cfg, &zero);
	__u64 *beat = bpf_map_lookup_elem(&alive, &zero);
	int action = XDP_PASS;

	/* 使用者空間超過 1 秒沒有心跳:它讀不了 socket,拿了也沒人處理,全部交給核心 */
	if (!beat || bpf_ktime_get_ns() - *(volatile __u64 *)beat > HEARTBEAT_MAX_NS)
		cfg = 0;
	/* 這個佇列沒有我們的 socket 時,bpf_redirect_map 回傳第三個參數:XDP_PASS */
	if (cfg && wanted(cfg, data, end))
		action = bpf_redirect_map(&xsks_map, q, XDP_PASS);

	struct queue_counters *qc = bpf_map_lookup_elem(&queue_stats, &q);
	if (qc) {
		if (action == XDP_REDIRECT)
			qc->redirected++;
		else
			qc->passed++;
	}
	return action;
}

char _license[] SEC("license") = "Dual MIT/GPL";

#else /* !__bpf__ */
/* ======================================================================
 * 3. 使用者半部
 * ====================================================================== */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h> /* 要在 linux/netfilter_* 之前:glibc 的 net/if.h 與 linux/if.h 才不會重複定義 */
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter_arp/arp_tables.h>
#include <linux/netfilter_ipv4/ip_tables.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if_arp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <xdp/libxdp.h>
#include <xdp/xsk.h>

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

#define EXIT_USAGE 64
#define MAX_BATCH 256
#define MAX_QUEUES 256
#define POLL_TIMEOUT_MS 100 /* 閒置的佇列執行緒每 100 ms 醒來看一次是否該結束 */

/* Makefile 編出的 XDP 物件檔(af_xdp_socket.bpf.o)嵌在這裡:執行檔不依賴任何外部檔案 */
#ifndef XDP_OBJ_PATH
#error "請用 make 建置:需要 -DXDP_OBJ_PATH=<af_xdp_socket.bpf.o 的路徑>"
#endif
__asm__(".pushsection .rodata\n"
	".balign 16\n"
	".globl xdp_obj_start\n"
	".hidden xdp_obj_start\n"
	"xdp_obj_start:\n"
	".incbin \"" XDP_OBJ_PATH "\"\n"
	".globl xdp_obj_end\n"
	".hidden xdp_obj_end\n"
	"xdp_obj_end:\n"
	".popsection\n");
extern const unsigned char xdp_obj_start[], xdp_obj_end[];

enum mode { MODE_RESPOND, MODE_RXDROP, MODE_TXONLY, MODE_L2FWD };
static const char *const mode_names[] = { "respond", "rxdrop", "txonly", "l2fwd" };

/* 佇列執行緒沒事做時怎麼等 */
enum wait_policy {
	WAIT_POLL,	/* 預設:poll() 睡到有封包(閒置幾乎不耗 CPU) */
	WAIT_BUSY_POLL, /* -B:SO_PREFER_BUSY_POLL,以 recvfrom/sendto 在這個執行緒裡驅動 NAPI */
	WAIT_SPIN,	/* --spin:一直輪詢 ring(效能量測用,佔滿一顆 CPU) */
};

/* netfilter 有會看到 ARP / ping 的規則時(XDP 拿走的封包不經過 netfilter) */
enum fw_choice {
	FW_REFUSE,  /* 預設:不啟動,請使用者選下面兩個之一 */
	FW_BYPASS,  /* --bypass-firewall:照拿,啟動時說一行 */
	FW_RESPECT, /* --respect-firewall:有規則時什麼都不拿,由核心(與防火牆)回答 */
};

/* 主機自己對 ARP 與 ping 的決定(每秒重讀)。XDP 程式只拿核心本來也會回答的那些,其餘交給核心 */
struct host_policy {
	int echo_ignore_all; /* net.ipv4.icmp_echo_ignore_all */
	int ratemask;	     /* net.ipv4.icmp_ratemask:含 echo reply(bit 0)時核心會限速回覆 */
	int arp_ignore;	     /* conf/all 與 conf/介面 取大的,與核心相同 */
	int arp_filter;	     /* conf/all 或 conf/介面 */
	int rp_filter;	     /* conf/all 與 conf/介面 取大的,與核心相同 */
	bool noarp;	     /* 介面的 NOARP 旗標 */
	bool ip_on_iface;    /* 我們回答的位址設在這個介面上(arp_ignore=1 要求) */
	char fw[256];	     /* 有規則的 netfilter 鏈(空字串 = 沒有):nftables 的加上舊式 x_tables 的 */
	char nft_fw[256];    /* 其中 nftables 的部分:generation 沒變時沿用這個(不是 fw:那會把舊式的部分再接一次) */
	uint32_t nft_gen;    /* nftables 規則集的 generation:沒變就不必重讀 */
	bool nft_gen_known;
	bool routes_over;    /* respond:路由表的前綴超過 ROUTE_MAX 個,route_back map 放不下:ARP 與 ping 交給核心 */
};

/* route_back map 的一格(使用者空間的副本,依 key 排序:沒變就不必重寫 map) */
struct route_ent {
	struct route_key k;
	uint32_t back; /* 1 = 回覆從我們的介面出去 */
};

struct config; /* 使用者要求的設定,定義在「選項」一節 */

struct counters {
	uint64_t rx, tx, rx_bytes, tx_bytes;
	uint64_t arp_req, arp_reply, icmp_req, icmp_reply;
	uint64_t malformed, not_for_us, other, fragments, vlan, tx_ring_full;
};

struct ctx;

/* 一個佇列:一個 AF_XDP socket、它的四個 ring、一段屬於它的 UMEM frame、一個執行緒 */
struct xsk_queue {
	struct ctx *c;
	unsigned id; /* 介面上的佇列編號 */
	int cpu;     /* 釘住的 CPU;-1 = 不釘 */
	struct xsk_socket *xsk;
	int fd;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	uint64_t frame_mask; /* addr & frame_mask = frame 開頭(frame 大小是 2 的次方) */
	uint64_t *free_frames; /* 只有 txonly 用:不在任何 ring 上的 frame */
	unsigned nfree;
	unsigned tx_unkicked; /* 放進 TX ring、還沒 sendto() 通知的數量 */
	bool tx_again;	      /* 上次 sendto() 沒送完(EAGAIN):先別睡,再 kick */
	unsigned tx_in_flight; /* 已交給核心、completion 還沒回來 */
	uint64_t tx_goal, tx_generated, tx_t0_ns; /* txonly:數量上限(UINT64_MAX = 不限)、已產生、限速起點 */
	uint64_t tx_rate;			  /* txonly:這個佇列的 pps(0 = 全速) */
	int done;	      /* txonly 送完(__atomic) */
	struct counters st;   /* 只有這個佇列的執行緒寫;主執行緒每秒讀一次 */
	unsigned long loops;  /* 執行緒每轉一圈加一(__atomic):主執行緒據此確認它還在轉,才送心跳 */
	/* 以下只有主執行緒用 */
	unsigned long loops_seen;
	uint64_t seen_ns; /* 最近一次看到 loops 前進的時間 */
	struct counters last;
	struct xdp_statistics xs_last;
	struct queue_counters prog_last;
	pthread_t thread;
	bool started;
};

/* ---- 使用者要求的設定(選項解析在檔案後段) ---- */
struct config {
	const char *ifname;
	unsigned q_first, q_last; /* 佇列範圍 */
	bool q_all;
	enum mode mode;
	enum xdp_attach_mode attach; /* XDP_MODE_UNSPEC = 自動 */
	uint16_t copy;		     /* 0 = 自動,XDP_COPY 或 XDP_ZEROCOPY */
	enum wait_policy wait;
	bool need_wakeup;
	bool take_all;
	unsigned batch;
	int cpus[MAX_QUEUES];
	unsigned ncpus;
	unsigned frames; /* 每個佇列 */
	unsigned frame_size;
	double duration;
	bool quiet;
	uint16_t udp_port; /* rxdrop / l2fwd 拿的 UDP 埠 */
	/* respond */
	struct in_addr ip;
	bool ip_set;
	/* txonly */
	uint8_t src_mac[6], dst_mac[6];
	bool src_mac_set, dst_mac_set;
	struct in_addr src_ip, dst_ip;
	bool src_ip_set, dst_ip_set;
	uint16_t src_port, dst_port;
	unsigned pkt_size;
	uint64_t rate;	/* 全部佇列合計 pps;0 = 全速 */
	uint64_t count; /* 全部佇列合計;0 = 不限 */
	enum fw_choice firewall; /* netfilter 有規則時怎麼辦 */
	uint32_t unload_id;	 /* --unload:卸下這個 id 的殘留程式後結束(0 = 不是這個動作) */
};

struct ctx {
	struct config cfg;
	const char *argv0; /* 訊息裡的指令(例如 --unload)用 */
	int ifindex;
	uint8_t if_mac[6];
	unsigned if_mtu;    /* 0 = 讀不到 */
	bool ip_from_iface; /* respond 回答的位址取自介面(沒給 --ip):位址被移除時要停止回答 */
	uint32_t ip_mask;   /* 那個位址的網路遮罩(網路位元組順序;0 = 不知道) */
	unsigned if_queues; /* 介面的 RX 佇列數 */
	/* XDP 程式(txonly 沒有) */
	struct bpf_object *obj;
	int prog_fd;
	uint32_t prog_id;
	enum xdp_attach_mode attached; /* 實際掛上的模式;XDP_MODE_UNSPEC = 沒掛 */
	int link_fd;		       /* bpf_link;-1 = 以 netlink 掛載(沒有 bpf_link 的核心,或 AF_XDP_NETLINK=1) */
	char link_why[128];	       /* 沒用 bpf_link 的原因 */
	int xsks_map_fd, stats_map_fd, cfg_map_fd, alive_map_fd;
	struct take_config tc;	/* 目前寫在 take_cfg map 裡的設定 */
	struct host_policy pol; /* 最近一次讀到的主機設定 */
	char take_why[256];	/* 最近一次說明的「交給核心的原因」:原因變了也要說 */
	int route_map_fd;
	struct route_ent routes[ROUTE_MAX]; /* 目前寫在 route_back map 裡的 */
	unsigned nroutes;
	int ncpus_possible;
	/* UMEM 與佇列 */
	void *umem_area;
	size_t umem_size;
	struct xsk_umem *umem;
	struct xsk_queue *q;
	unsigned nq;
	bool zerocopy;
	unsigned (*engine)(struct xsk_queue *q); /* 依模式在啟動時選一次 */
	uint8_t tx_template[4096];
	/* 執行狀態 */
	int stop; /* __atomic:要求所有佇列執行緒結束 */
	int fatal; /* __atomic:某個佇列執行緒遇到致命錯誤(訊息在 fatal_msg) */
	char fatal_msg[512];
	pthread_t main_thread;
	struct timespec start;
	/* -B 時暫時改掉的 sysfs 值,結束時還原 */
	char saved_defer[32], saved_gro[32];
	bool sysfs_changed;
};

static void parse_args(int argc, char **argv, struct config *cfg);
static void read_host_policy(struct ctx *c, struct host_policy *p);
static int sync_routes(struct ctx *c, struct host_policy *p);
static int firewall_gate(struct ctx *c);
static const char *unload_cmd(const struct ctx *c, uint32_t id, const char *netns, char *buf, size_t len);

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static const char *mode_label(enum xdp_attach_mode m)
{
	switch (m) {
	case XDP_MODE_NATIVE:
		return "native";
	case XDP_MODE_SKB:
		return "SKB";
	case XDP_MODE_HW:
		return "硬體卸載";
	default:
		return "無";
	}
}

/* ---- 3a. 載入並掛上 XDP 程式 ------------------------------------------------ */

static uint32_t attach_flag(enum xdp_attach_mode m)
{
	return m == XDP_MODE_SKB ? XDP_FLAGS_SKB_MODE : m == XDP_MODE_HW ? XDP_FLAGS_HW_MODE : XDP_FLAGS_DRV_MODE;
}

/* /proc/PID/stat 第 22 欄:行程的啟動時間(開機後的 clock tick);0 = 行程不存在 */
static uint64_t proc_start_time(uint32_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long start = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* 行程名稱(第 2 欄)可能含空白與括號:從最後一個 ')' 之後數,第 3 欄是狀態。
	 * 殭屍(Z,已結束、還沒被父行程收走)也算不在了:它的檔案描述子早就關了 */
	char state = 'Z';
	if (!(p = strrchr(buf, ')')) ||
	    sscanf(p + 1, " %c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu", &state,
		   &start) != 2 ||
	    state == 'Z' || state == 'X')
		start = 0;
	return start;
}

/*
 * 嵌入的物件檔 → bpf_object → 依介面調整 map 大小 → 載入核心(verifier 在這裡檢查)。
 * 設定(take_cfg map 的唯一一格)在掛上之前寫好:程式一掛上就依它決定拿哪些封包。
 */
static int xdp_load(struct ctx *c)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "af_xdp_socket");
	struct bpf_map *map;
	struct bpf_program *prog;
	int err;

	c->obj = bpf_object__open_mem(xdp_obj_start, (size_t)(xdp_obj_end - xdp_obj_start), &oo);
	if (!c->obj)
		return -errno;
	bpf_object__for_each_map(map, c->obj)
	{
		if (!strcmp(bpf_map__name(map), "xsks_map") || !strcmp(bpf_map__name(map), "queue_stats"))
			if ((err = bpf_map__set_max_entries(map, c->if_queues)))
				return err;
	}
	if ((err = bpf_object__load(c->obj)))
		return err;
	prog = bpf_object__find_program_by_name(c->obj, "xsk_take");
	c->prog_fd = prog ? bpf_program__fd(prog) : -ENOENT;
	if (c->prog_fd < 0)
		return c->prog_fd;
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info);
	if (bpf_obj_get_info_by_fd(c->prog_fd, &info, &len))
		return -errno;
	c->prog_id = info.id;
	c->xsks_map_fd = bpf_object__find_map_fd_by_name(c->obj, "xsks_map");
	c->stats_map_fd = bpf_object__find_map_fd_by_name(c->obj, "queue_stats");
	c->cfg_map_fd = bpf_object__find_map_fd_by_name(c->obj, "take_cfg");
	c->alive_map_fd = bpf_object__find_map_fd_by_name(c->obj, "alive");
	c->route_map_fd = bpf_object__find_map_fd_by_name(c->obj, "route_back");
	if (bpf_map_update_elem(c->alive_map_fd, &(uint32_t){ 0 }, &(uint64_t){ now_ns() }, BPF_ANY))
		return -errno; /* 掛上之後到主執行緒開始送心跳之前的這段時間照常拿 */
	c->tc.ipv4 = c->cfg.ip.s_addr;
	memcpy(c->tc.mac, c->if_mac, 6);
	c->tc.port = htons(c->cfg.udp_port);
	c->tc.max_len = c->cfg.frame_size - XDP_PACKET_HEADROOM;
	c->tc.owner_pid = (uint32_t)getpid();
	c->tc.owner_start = proc_start_time(c->tc.owner_pid);
	return 0;
}

/*
 * 依主機設定決定 XDP 程式此刻可以拿什麼;why 寫下交給核心的原因(給人看)。
 * 原則:核心自己不會回答的,我們也不回答;拿不準的一律交給核心,由它照主機的設定處理。
 */
static uint32_t policy_take(const struct ctx *c, const struct host_policy *p, char *why, size_t len)
{
	const struct config *cfg = &c->cfg;
	bool fw_stop = p->fw[0] && cfg->firewall != FW_BYPASS;
	uint32_t take;
	size_t o = 0;

#define WHY(...) (o += (size_t)snprintf(why + o, o < len ? len - o : 0, __VA_ARGS__))
	why[0] = '\0';
	if (cfg->mode == MODE_RXDROP) /* 只計數丟棄、不回答任何東西:防火牆擋不擋結果都一樣 */
		return cfg->take_all ? TAKE_ALL : TAKE_UDP;
	if (cfg->mode == MODE_L2FWD) {
		if (fw_stop) {
			WHY("netfilter 有規則,UDP %u 埠交給核心", cfg->udp_port);
			return 0;
		}
		return cfg->take_all ? TAKE_ALL : TAKE_UDP;
	}
	take = TAKE_ARP | TAKE_ICMP;
	if (fw_stop) {
		WHY("netfilter 有規則,ARP 與 ping 都交給核心(與防火牆)");
		return 0;
	}
	if (p->routes_over) {
		WHY("路由表超過 %d 個前綴,XDP 程式無法確認回程路由:ARP 與 ping 都交給核心", ROUTE_MAX);
		return 0;
	}
	if (p->echo_ignore_all) {
		take &= ~(uint32_t)TAKE_ICMP;
		WHY("ping 交給核心:icmp_echo_ignore_all=%d", p->echo_ignore_all);
	} else if (p->ratemask & 1) {
		take &= ~(uint32_t)TAKE_ICMP;
		WHY("ping 交給核心:icmp_ratemask 含 echo reply(核心限速回覆)");
	}
	/* arp_ignore:0 與 4-7(保留)照常回答;1 只回答設在收到請求的介面上的位址;2、3、8 的規則交給核心判斷 */
	const char *arp = p->noarp ? "介面是 NOARP" : NULL;
	char buf[48];
	if (!arp && ((p->arp_ignore == 1 && !p->ip_on_iface) || p->arp_ignore == 2 || p->arp_ignore == 3 ||
		     p->arp_ignore == 8)) {
		snprintf(buf, sizeof(buf), "arp_ignore=%d", p->arp_ignore);
		arp = buf;
	}
	if (!arp && p->arp_filter)
		arp = "arp_filter=1";
	if (arp) {
		take &= ~(uint32_t)TAKE_ARP;
		WHY("%sARP 交給核心:%s", o ? ";" : "", arp);
	} else if (p->rp_filter) {
		take |= TAKE_ARP_RPF;
		WHY("%srp_filter=%d:來源的回程路由不從這個介面出去的 ARP 交給核心", o ? ";" : "", p->rp_filter);
	}
#undef WHY
	return take;
}

/* 重讀主機設定;拿的範圍改變時寫進 map(啟動時 first = true:一定寫、一定說) */
static int apply_host_policy(struct ctx *c, bool first)
{
	struct host_policy p = c->pol;
	char why[256];

	read_host_policy(c, &p);
	if (c->cfg.mode == MODE_RESPOND) {
		int err = sync_routes(c, &p);
		if (err)
			return err;
	}
	uint32_t take = policy_take(c, &p, why, sizeof(why));
	bool fw_changed = strcmp(p.fw, c->pol.fw) != 0, why_changed = strcmp(why, c->take_why) != 0;
	c->pol = p;
	snprintf(c->take_why, sizeof(c->take_why), "%s", why);
	if (!first && take == c->tc.take && !fw_changed && !why_changed)
		return 0;
	c->tc.take = take;
	if (bpf_map_update_elem(c->cfg_map_fd, &(uint32_t){ 0 }, &c->tc, BPF_ANY))
		return -errno;
	if (c->cfg.mode == MODE_RESPOND || c->cfg.mode == MODE_L2FWD || fw_changed)
		printf("%s%s%s%s\n", first ? "主機設定:" : "[主機設定改變] ",
		       why[0] ? why : (c->cfg.mode == MODE_RESPOND ? "ARP 與 ping 都由程式回答(核心也會回答它們)" : "照常拿"),
		       p.fw[0] ? ";netfilter 規則:" : "", p.fw);
	fflush(stdout);
	return 0;
}

/* 介面上現在掛著的 XDP 程式 id(沒有 = 0) */
static uint32_t attached_prog_id(const struct ctx *c, enum xdp_attach_mode *mode)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);

	if (bpf_xdp_query(c->ifindex, 0, &q))
		return 0;
	if (mode)
		*mode = q.attach_mode == XDP_ATTACHED_SKB ? XDP_MODE_SKB :
			q.attach_mode == XDP_ATTACHED_HW  ? XDP_MODE_HW :
							    XDP_MODE_NATIVE;
	return q.prog_id ? q.prog_id : q.drv_prog_id ? q.drv_prog_id : q.skb_prog_id ? q.skb_prog_id : q.hw_prog_id;
}

/*
 * 描述一個掛著的程式:名稱,以及它是不是另一個 af_xdp_socket 的(名稱 xsk_take 且有 take_cfg map),
 * 是的話讀出 owner_pid 並確認那個行程還在。回傳 1 = 我們的、擁有者還在;2 = 我們的、擁有者已不在;0 = 別人的。
 */
static int describe_prog(uint32_t id, char *name, size_t nlen, uint32_t *owner)
{
	struct bpf_prog_info info = { 0 };
	uint32_t len = sizeof(info), map_ids[8], n;
	int fd = bpf_prog_get_fd_by_id(id), verdict = 0;

	snprintf(name, nlen, "?");
	*owner = 0;
	if (fd < 0)
		return 0;
	info.nr_map_ids = 8;
	info.map_ids = (uint64_t)(uintptr_t)map_ids;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		close(fd);
		return 0;
	}
	snprintf(name, nlen, "%s", info.name);
	n = info.nr_map_ids < 8 ? info.nr_map_ids : 8;
	for (uint32_t i = 0; !verdict && !strcmp(info.name, "xsk_take") && i < n; i++) {
		struct bpf_map_info mi = { 0 };
		uint32_t ml = sizeof(mi);
		struct take_config tc;
		int mfd = bpf_map_get_fd_by_id(map_ids[i]);
		if (mfd < 0)
			continue;
		if (!bpf_obj_get_info_by_fd(mfd, &mi, &ml) && !strcmp(mi.name, "take_cfg") &&
		    mi.value_size == sizeof(tc) && !bpf_map_lookup_elem(mfd, &(uint32_t){ 0 }, &tc)) {
			*owner = tc.owner_pid;
			verdict = tc.owner_pid && proc_start_time(tc.owner_pid) == tc.owner_start ? 1 : 2;
		}
		close(mfd);
	}
	close(fd);
	return verdict;
}

/*
 * 介面上已經有 XDP 程式:一個介面同時只能掛一個(native 與 SKB 也不能並存),所以不碰它、說清楚是誰的。
 * 只有「另一個 af_xdp_socket 留下、擁有者已經不在」的那種才給卸載指令,而且指令以 id 指名,
 * 核心確認 id 相符才卸(見 --unload):絕不叫使用者卸下別人的程式。
 */
static int check_existing_program(struct ctx *c)
{
	enum xdp_attach_mode m;
	uint32_t id = attached_prog_id(c, &m), owner;
	char name[32], cmd[256];

	if (!id)
		return 0;
	switch (describe_prog(id, name, sizeof(name), &owner)) {
	case 1:
		fprintf(stderr,
			"錯誤:介面 %s 正由另一個 af_xdp_socket(PID %u,XDP 程式 id %u,%s 模式)使用;"
			"一個 af_xdp_socket 就能服務多個佇列(佇列寫 0-3 或 all)\n",
			c->cfg.ifname, owner, id, mode_label(m));
		break;
	case 2:
		fprintf(stderr,
			"錯誤:介面 %s 上留著 af_xdp_socket 的 XDP 程式(id %u,%s 模式),掛上它的行程(PID %u)已經不在了"
			"(被 SIGKILL?它以 netlink 掛載,核心不會自動卸下);確認後卸下:%s\n",
			c->cfg.ifname, id, mode_label(m), owner, unload_cmd(c, id, NULL, cmd, sizeof(cmd)));
		break;
	default:
		fprintf(stderr, "錯誤:介面 %s 已經掛著別的 XDP 程式(id %u「%s」,%s 模式);我們不動它,程式結束\n",
			c->cfg.ifname, id, name, mode_label(m));
	}
	return -EEXIST;
}

/*
 * 掛上:優先用 bpf_link(核心 5.9+)。link 屬於我們的檔案描述子:行程結束(包括 SIGKILL)時核心自己卸下程式,
 * 別人也不能以 netlink(ip link set ... xdp)把它換掉。核心不支援時退回 netlink 掛載
 * (XDP_FLAGS_UPDATE_IF_NOEXIST:絕不覆蓋別人的程式),這時 SIGKILL 會留下程式。
 */
static int xdp_attach(struct ctx *c, enum xdp_attach_mode mode)
{
	uint32_t flags = attach_flag(mode);
	int err;

	if (!c->link_why[0]) {
		LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = flags);
		int fd = bpf_link_create(c->prog_fd, c->ifindex, BPF_XDP, &lo);
		if (fd >= 0) {
			c->link_fd = fd;
			c->attached = mode;
			return 0;
		}
		err = -errno;
		/* EINVAL / EOPNOTSUPP:這個核心沒有 XDP 的 bpf_link;其他錯誤(ERANGE、EBUSY…)與掛載方式無關 */
		if (err != -EINVAL && err != -EOPNOTSUPP)
			return err;
		snprintf(c->link_why, sizeof(c->link_why), "核心不支援 XDP 的 bpf_link(%s)", strerror(-err));
	}
	err = bpf_xdp_attach(c->ifindex, c->prog_fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (err)
		return err;
	c->attached = mode;
	return 0;
}

/* 卸下我們的程式。bpf_link:關掉 link。netlink:XDP_FLAGS_REPLACE 加上我們的程式,
 * 核心確認掛著的還是我們的才卸下;已經被別人換掉時什麼都不做。 */
static void xdp_detach(struct ctx *c)
{
	if (c->attached == XDP_MODE_UNSPEC)
		return;
	if (c->link_fd >= 0) {
		close(c->link_fd);
		c->link_fd = -1;
	} else {
		LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = c->prog_fd);
		int err = bpf_xdp_detach(c->ifindex, attach_flag(c->attached) | XDP_FLAGS_REPLACE, &ao);
		char cmd[256];
		/* 介面已經不在這裡時程式也跟著走了;還在卻卸不下來就要說 */
		if (err && (int)if_nametoindex(c->cfg.ifname) == c->ifindex)
			fprintf(stderr, "錯誤:卸下 XDP 程式(id %u)失敗:%s;%s\n", c->prog_id, strerror(-err),
				err == -EEXIST ? "介面上掛著的已經不是我們的程式,不動它" :
						 unload_cmd(c, c->prog_id, NULL, cmd, sizeof(cmd)));
	}
	c->attached = XDP_MODE_UNSPEC;
}

/* 每秒一次:介面上掛著的還是我們的程式嗎?(netlink 掛載時別人可以 ip -force link set ... xdp 換掉它) */
static const char *check_still_ours(struct ctx *c, char *buf, size_t len)
{
	enum xdp_attach_mode m;
	uint32_t id = attached_prog_id(c, &m), owner;
	char name[32];

	/* 介面剛好在這一輪的 iface_gone 之後被刪除或移走:程式跟著它走了,不是被別人卸下;
	 * 100 ms 後的下一輪由 iface_gone 說明(而且說得出移走時怎麼卸) */
	if (id == c->prog_id || (int)if_nametoindex(c->cfg.ifname) != c->ifindex)
		return NULL;
	c->attached = XDP_MODE_UNSPEC; /* 不是我們的了:結束時什麼都不卸 */
	if (!id) {
		snprintf(buf, len, "我們的 XDP 程式(id %u)被別人從介面 %s 卸下了,程式結束", c->prog_id, c->cfg.ifname);
		return buf;
	}
	describe_prog(id, name, sizeof(name), &owner);
	snprintf(buf, len, "介面 %s 上的 XDP 程式被換掉了:現在是 id %u「%s」(%s 模式),不是我們的 id %u;"
		 "程式結束,不卸下任何東西", c->cfg.ifname, id, name, mode_label(m), c->prog_id);
	return buf;
}

/* --unload ID:卸下先前被 SIGKILL 的 af_xdp_socket 以 netlink 留下的程式。只卸 id 相符、
 * 是 af_xdp_socket 的、擁有者已經不在的;卸載本身也以 XDP_FLAGS_REPLACE 請核心再確認一次 id。 */
static int unload_stale(struct ctx *c)
{
	enum xdp_attach_mode m;
	uint32_t id, owner;
	char name[32];
	int kind;

	if (geteuid() != 0 || !(c->ifindex = (int)if_nametoindex(c->cfg.ifname))) {
		fprintf(stderr, "錯誤:%s\n", geteuid() ? "需要 root 權限:sudo ..." : "沒有這個網路介面(用 ip link 列出可用介面)");
		return 1;
	}
	id = attached_prog_id(c, &m);
	kind = id ? describe_prog(id, name, sizeof(name), &owner) : 0;
	if (id != c->cfg.unload_id) {
		fprintf(stderr, "錯誤:介面 %s 上%s,不是 id %u:不卸下任何東西\n", c->cfg.ifname,
			id ? "掛著的 XDP 程式 id 是別的" : "沒有 XDP 程式", c->cfg.unload_id);
		return 1;
	}
	if (kind != 2) {
		fprintf(stderr, "錯誤:XDP 程式 id %u %s:不卸下\n", id,
			kind == 1 ? "的 af_xdp_socket 還在執行(請結束那個行程)" : "不是 af_xdp_socket 的");
		return 1;
	}
	int fd = bpf_prog_get_fd_by_id(id);
	LIBBPF_OPTS(bpf_xdp_attach_opts, ao, .old_prog_fd = fd);
	int err = fd < 0 ? -errno : bpf_xdp_detach(c->ifindex, attach_flag(m) | XDP_FLAGS_REPLACE, &ao);
	if (fd >= 0)
		close(fd);
	if (err) {
		fprintf(stderr, "錯誤:卸下 XDP 程式 id %u 失敗:%s\n", id, strerror(-err));
		return 1;
	}
	printf("已卸下介面 %s 上殘留的 af_xdp_socket XDP 程式(id %u,%s 模式)\n", c->cfg.ifname, id, mode_label(m));
	return 0;
}

/* ---- 3b. UMEM 與每個佇列的 socket -------------------------------------------- */

/*
 * 一塊 UMEM 切給 nq 個佇列,每個佇列 frames 個 frame。
 * fill ring 與 TX ring 是 frames 的兩倍:核心取走 fill ring 的項目後,要等它手上那一批用完才公布
 * 新的 consumer 位置,所以我們看到的「已用空間」最多是「還沒被取走的(<= frames)」加上
 * 「已取走但還沒公布的(<= 一批 <= frames)」。兩倍大就保證回收(放回 fill ring)永遠放得下。
 * RX 與 completion ring 由核心生產、我們立刻釋放,frames 就夠。
 * 第一個佇列用 xsk_umem__create 建立的 fill/completion ring;之後的佇列由
 * xsk_socket__create_shared 在自己的 socket 上建立新的一組(核心 5.10+)。
 */
static int xsk_open_all(struct ctx *c, uint16_t bind_flags)
{
	const struct config *cfg = &c->cfg;
	struct xsk_umem_config ucfg = {
		.fill_size = cfg->frames * 2,
		.comp_size = cfg->frames,
		.frame_size = cfg->frame_size,
		.frame_headroom = 0,
		.flags = 0,
	};
	struct xsk_socket_config xcfg = {
		.rx_size = cfg->mode == MODE_TXONLY ? 0 : cfg->frames,
		.tx_size = cfg->mode == MODE_RXDROP ? 0 : cfg->frames * 2,
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD, /* 程式是我們自己的 */
		.bind_flags = bind_flags | (cfg->need_wakeup ? XDP_USE_NEED_WAKEUP : 0),
	};
	int err = xsk_umem__create(&c->umem, c->umem_area, c->umem_size, &c->q[0].fill, &c->q[0].comp, &ucfg);

	if (err) {
		c->umem = NULL;
		return err;
	}
	for (unsigned i = 0; i < c->nq; i++) {
		struct xsk_queue *q = &c->q[i];
		uint64_t first = (uint64_t)i * cfg->frames * cfg->frame_size;

		err = xsk_socket__create_shared(&q->xsk, cfg->ifname, q->id, c->umem,
						cfg->mode == MODE_TXONLY ? NULL : &q->rx,
						cfg->mode == MODE_RXDROP ? NULL : &q->tx, &q->fill, &q->comp, &xcfg);
		if (err) {
			q->xsk = NULL;
			return err;
		}
		q->fd = xsk_socket__fd(q->xsk);
		q->frame_mask = ~((uint64_t)cfg->frame_size - 1);
		if (cfg->mode == MODE_TXONLY) {
			q->nfree = 0;
			for (unsigned f = 0; f < cfg->frames; f++)
				q->free_frames[q->nfree++] = first + (uint64_t)f * cfg->frame_size;
			continue;
		}
		/* 收包模式:這個佇列的每個 frame 都先交給核心 */
		uint32_t idx;
		if (xsk_ring_prod__reserve(&q->fill, cfg->frames, &idx) != cfg->frames)
			return -ENOSPC;
		for (unsigned f = 0; f < cfg->frames; f++)
			*xsk_ring_prod__fill_addr(&q->fill, idx + f) = first + (uint64_t)f * cfg->frame_size;
		xsk_ring_prod__submit(&q->fill, cfg->frames);
		/* fill ring 準備好了,才讓 XDP 程式把這個佇列的封包導過來 */
		err = xsk_socket__update_xskmap(q->xsk, c->xsks_map_fd);
		if (err)
			return err;
	}
	return 0;
}

static void xsk_close_all(struct ctx *c)
{
	for (unsigned i = 0; c->q && i < c->nq; i++) { /* prepare() 失敗時 c->q 可能還沒配置 */
		if (c->q[i].xsk)
			xsk_socket__delete(c->q[i].xsk);
		c->q[i].xsk = NULL;
	}
	if (c->umem)
		xsk_umem__delete(c->umem);
	c->umem = NULL;
}

/* EBUSY:同一個佇列上一個 socket 的非同步拆除還沒完成,全部拆掉、稍等再試 */
static int xsk_open_retry(struct ctx *c, uint16_t bind_flags)
{
	int err = 0;

	for (int attempt = 0; attempt < 20; attempt++) {
		err = xsk_open_all(c, bind_flags);
		if (!err)
			return 0;
		xsk_close_all(c);
		if (err != -EBUSY)
			return err;
		usleep(20000);
	}
	return err;
}

static const char *setup_hint(int err, enum xdp_attach_mode mode, uint16_t bind)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return "需要 root 權限(或 CAP_NET_ADMIN + CAP_BPF):請用 sudo 執行";
	case EOPNOTSUPP:
		if (bind & XDP_ZEROCOPY)
			return "這個驅動程式不支援 zero-copy(veth 只能 copy 模式):改用 -c,或不指定讓程式自動選擇";
		return mode == XDP_MODE_NATIVE ? "驅動程式不支援 native XDP:改用 -S(SKB 模式)" : "不支援的操作";
	case ERANGE:
		return "veth 對端 MTU 太大,native XDP 不能用:ip link set dev 對端 mtu 3500,或改用 -S";
	case EBUSY:
		return "佇列正被另一個 AF_XDP socket 使用(另一個 af_xdp_socket 還在執行?)";
	case EEXIST:
		return "介面上已經有 XDP 程式";
	case EINVAL:
		return "參數不被接受(佇列編號?frame 大小?核心太舊?)";
	case ENOMEM:
	case ENOBUFS:
		return "記憶體不足或 memlock 上限太低(ulimit -l);試試較小的 --frames";
	default:
		return "";
	}
}

/*
 * 依序嘗試(使用者沒指定時):native + zero-copy → native + copy → SKB + copy,
 * 印出每個失敗的原因,最後讀回實際生效的模式。txonly 不掛程式,只試 zero-copy → copy。
 */
static int xsk_setup(struct ctx *c)
{
	const struct config *cfg = &c->cfg;
	struct {
		enum xdp_attach_mode attach;
		uint16_t bind;
	} tries[4];
	int ntries = 0, err = -EINVAL;
	enum xdp_attach_mode attach_list[2] = { XDP_MODE_NATIVE, XDP_MODE_SKB };
	int na = 2;

	if (cfg->mode == MODE_TXONLY) {
		attach_list[0] = XDP_MODE_UNSPEC;
		na = 1;
	} else if (cfg->attach != XDP_MODE_UNSPEC) {
		attach_list[0] = cfg->attach;
		na = 1;
	}
	for (int a = 0; a < na; a++) {
		if (cfg->copy) {
			tries[ntries].attach = attach_list[a];
			tries[ntries++].bind = cfg->copy;
			continue;
		}
		if (attach_list[a] != XDP_MODE_SKB) { /* zero-copy 只有驅動程式支援時可能成功 */
			tries[ntries].attach = attach_list[a];
			tries[ntries++].bind = XDP_ZEROCOPY;
		}
		tries[ntries].attach = attach_list[a];
		tries[ntries++].bind = XDP_COPY;
	}

	if (cfg->mode != MODE_TXONLY) {
		if ((err = check_existing_program(c)))
			return err;
		if ((err = xdp_load(c))) {
			fprintf(stderr, "錯誤:載入 XDP 程式失敗:%s。%s\n", strerror(-err), setup_hint(-err, XDP_MODE_UNSPEC, 0));
			return err;
		}
		if ((err = firewall_gate(c)) || (err = apply_host_policy(c, true)))
			return err;
	}
	for (int i = 0; i < ntries; i++) {
		const char *what = tries[i].bind == XDP_ZEROCOPY ? "zero-copy" : "copy";
		if (tries[i].attach != c->attached) {
			xdp_detach(c);
			err = xdp_attach(c, tries[i].attach);
		} else {
			err = 0;
		}
		if (!err)
			err = xsk_open_retry(c, tries[i].bind);
		if (!err)
			break;
		if (i < ntries - 1) {
			printf("  嘗試 %s%s%s 失敗(%s),改用下一個選項\n", tries[i].attach ? mode_label(tries[i].attach) : "",
			       tries[i].attach ? " + " : "", what, strerror(-err));
			continue;
		}
		fprintf(stderr, "錯誤:在 %s 佇列 %u-%u 建立 AF_XDP socket 失敗(%s%s%s):%s。%s\n", cfg->ifname,
			c->q[0].id, c->q[c->nq - 1].id, tries[i].attach ? mode_label(tries[i].attach) : "",
			tries[i].attach ? " + " : "", what, strerror(-err), setup_hint(-err, tries[i].attach, tries[i].bind));
		xdp_detach(c);
		return err;
	}

	/* 讀回實際生效的模式:要求的不一定是得到的 */
	struct xdp_options xo = { 0 };
	socklen_t len = sizeof(xo);
	if (getsockopt(c->q[0].fd, SOL_XDP, XDP_OPTIONS, &xo, &len) == 0)
		c->zerocopy = xo.flags & XDP_OPTIONS_ZEROCOPY;
	if (cfg->mode == MODE_TXONLY) {
		printf("實際生效:不掛 XDP 程式(txonly 只送不收,介面收到的封包全部照常交給核心),socket 為 %s 模式\n",
		       c->zerocopy ? "zero-copy" : "copy");
		return 0;
	}
	char cmd[256];
	printf("實際生效:XDP 程式 id %u 以 %s 模式掛載,socket 為 %s 模式%s\n", c->prog_id, mode_label(c->attached),
	       c->zerocopy ? "zero-copy" : "copy", cfg->need_wakeup ? ",need_wakeup 開啟" : "");
	if (c->link_fd >= 0)
		printf("掛載方式:bpf_link(屬於這個行程:任何結束方式,包括 SIGKILL,核心都會卸下程式;別人無法以 netlink 換掉它)\n");
	else
		printf("掛載方式:netlink(%s);程式若被 SIGKILL 會留下 XDP 程式,卸載指令:%s\n", c->link_why,
		       unload_cmd(c, c->prog_id, NULL, cmd, sizeof(cmd)));
	return 0;
}

/* -B:socket 的 busy-poll 選項,以及介面的 NAPI 設定(中斷延後,讓應用程式的輪詢來收) */
/* 讀出舊值(old 不是 NULL 時)、寫入新值(new_val 不是 NULL 時);回傳寫入是否成功 */
static bool sysfs_rw(const char *ifname, const char *attr, const char *new_val, char *old, size_t oldlen)
{
	char path[128];
	bool wrote = false;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", ifname, attr);
	if (old && (f = fopen(path, "r"))) {
		if (!fgets(old, (int)oldlen, f))
			old[0] = '\0';
		old[strcspn(old, "\n")] = '\0';
		fclose(f);
	}
	if (new_val && (f = fopen(path, "w"))) {
		wrote = fputs(new_val, f) >= 0;
		wrote &= !fclose(f);
	}
	return wrote;
}

static void busy_poll_setup(struct ctx *c)
{
	int one = 1, usec = 20, budget = (int)c->cfg.batch, ok = 1;

	for (unsigned i = 0; i < c->nq; i++)
		ok &= !setsockopt(c->q[i].fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) &&
		      !setsockopt(c->q[i].fd, SOL_SOCKET, SO_BUSY_POLL, &usec, sizeof(usec)) &&
		      !setsockopt(c->q[i].fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget));
	/*
	 * napi_defer_hard_irqs:NAPI 輪詢沒收到東西時,再延後這麼多次才重新開中斷;
	 * gro_flush_timeout:延後的時間上限(ns)。兩者讓中斷在應用程式忙碌輪詢時保持關閉,
	 * 封包由我們的 recvfrom/sendto 收走,而不是被中斷打斷。結束時還原原值。
	 */
	bool wrote = sysfs_rw(c->cfg.ifname, "napi_defer_hard_irqs", "2", c->saved_defer, sizeof(c->saved_defer));
	wrote &= sysfs_rw(c->cfg.ifname, "gro_flush_timeout", "200000", c->saved_gro, sizeof(c->saved_gro));
	c->sysfs_changed = c->saved_defer[0] && c->saved_gro[0];
	printf("busy-poll:%s;napi_defer_hard_irqs 2、gro_flush_timeout 200000 ns %s(原值 %s / %s,結束時還原)\n",
	       ok ? "已啟用(SO_PREFER_BUSY_POLL、SO_BUSY_POLL 20 µs、budget = --batch)" : "socket 選項設定失敗",
	       wrote ? "已設定" : "設定失敗", c->saved_defer[0] ? c->saved_defer : "?", c->saved_gro[0] ? c->saved_gro : "?");
	if (c->sysfs_changed) /* SIGKILL 時沒有機會還原 */
		printf("程式若被 SIGKILL,NAPI 設定的還原指令:echo %s | sudo tee /sys/class/net/%s/napi_defer_hard_irqs; "
		       "echo %s | sudo tee /sys/class/net/%s/gro_flush_timeout\n",
		       c->saved_defer, c->cfg.ifname, c->saved_gro, c->cfg.ifname);
}

/* ======================================================================
 * 4. 資料路徑:每個佇列一個執行緒,模式在啟動時選一個 engine
 * ====================================================================== */

/* 網際網路檢查碼(RFC 1071) */
static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (; len > 1; len -= 2, p += 2)
		sum += (uint32_t)p[0] << 8 | p[1];
	if (len)
		sum += (uint32_t)p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void swap_mac(uint8_t *p)
{
	uint8_t tmp[6];

	memcpy(tmp, p, 6);
	memcpy(p, p + 6, 6);
	memcpy(p + 6, tmp, 6);
}

/* 致命錯誤:記下第一個原因、要求全部結束、叫醒主執行緒(它在總結之後印出原因) */
static void __attribute__((format(printf, 2, 3))) set_fatal(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	if (__atomic_exchange_n(&c->fatal, 1, __ATOMIC_ACQ_REL))
		return; /* 已經有別人回報了 */
	va_start(ap, fmt);
	vsnprintf(c->fatal_msg, sizeof(c->fatal_msg), fmt, ap);
	va_end(ap);
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	if (!pthread_equal(pthread_self(), c->main_thread))
		pthread_kill(c->main_thread, SIGUSR1);
}

/* 收包模式:把 frame 放回 fill ring(大小是 frame 數的兩倍,一定放得下,見 xsk_open_all) */
static void fill_put(struct xsk_queue *q, const uint64_t *addr, unsigned n)
{
	uint32_t idx;

	if (!n)
		return;
	if (xsk_ring_prod__reserve(&q->fill, n, &idx) != n) {
		set_fatal(q->c, "內部錯誤:fill ring 放不下 %u 個 frame", n);
		return;
	}
	for (unsigned i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&q->fill, idx + i) = addr[i] & q->frame_mask;
	xsk_ring_prod__submit(&q->fill, n);
}

/* completion ring:核心送完的 frame。收包模式放回 fill ring,txonly 放回空閒堆疊 */
static unsigned reap_completions(struct xsk_queue *q)
{
	uint64_t addr[MAX_BATCH];
	uint32_t idx;
	unsigned n;

	if (!q->tx_in_flight)
		return 0;
	n = xsk_ring_cons__peek(&q->comp, MAX_BATCH, &idx);
	if (!n)
		return 0;
	for (unsigned i = 0; i < n; i++)
		addr[i] = *xsk_ring_cons__comp_addr(&q->comp, idx + i);
	xsk_ring_cons__release(&q->comp, n);
	q->tx_in_flight -= n;
	if (q->free_frames) {
		for (unsigned i = 0; i < n; i++)
			q->free_frames[q->nfree++] = addr[i] & q->frame_mask;
	} else {
		fill_put(q, addr, n);
	}
	return n;
}

/*
 * 通知核心 TX ring 有新東西。need_wakeup 開啟時只在 TX ring 的旗標要求時才需要 sendto():
 * zero-copy 驅動程式正在送的時候會清掉旗標;copy 模式的旗標一直是設著的(每批都要 sendto,
 * 核心在這個呼叫裡一次最多送 32 個,沒送完回 EAGAIN,下一輪再叫)。
 */
static void tx_kick(struct xsk_queue *q)
{
	if (!q->tx_unkicked && !q->tx_again)
		return;
	q->tx_unkicked = 0;
	q->tx_again = false;
	if (q->c->cfg.need_wakeup && !xsk_ring_prod__needs_wakeup(&q->tx))
		return;
	if (sendto(q->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
		return;
	switch (errno) {
	case EAGAIN:
	case EBUSY:
	case ENOBUFS:
		q->tx_again = true; /* 核心這次沒送完 */
		break;
	case ENETDOWN:
	case ENXIO:
		set_fatal(q->c, "介面 %s 已消失或不再可用(sendto:%s)", q->c->cfg.ifname, strerror(errno));
		break;
	default:
		set_fatal(q->c, "佇列 %u 的 sendto 失敗:%s", q->id, strerror(errno));
	}
}

/* 把 n 個 {位址, 長度} 放進 TX ring;放不下的回收,回傳放進去的數量 */
static unsigned tx_put(struct xsk_queue *q, const uint64_t *addr, const uint32_t *len, unsigned n)
{
	uint32_t idx;
	unsigned room = xsk_prod_nb_free(&q->tx, n);

	if (room > n)
		room = n;
	if (room && xsk_ring_prod__reserve(&q->tx, room, &idx) != room)
		room = 0;
	for (unsigned i = 0; i < room; i++) {
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, idx + i);
		d->addr = addr[i];
		d->len = len[i];
		q->st.tx_bytes += len[i];
	}
	if (room) {
		xsk_ring_prod__submit(&q->tx, room);
		q->tx_unkicked += room;
		q->tx_in_flight += room;
		q->st.tx += room;
	}
	if (room < n) {
		q->st.tx_ring_full += n - room;
		fill_put(q, addr + room, n - room);
	}
	return room;
}

/* --- engine:rxdrop,收到的位址直接還回 fill ring --- */
static unsigned rx_drop(struct xsk_queue *q)
{
	uint64_t addr[MAX_BATCH];
	uint32_t idx;
	unsigned n = xsk_ring_cons__peek(&q->rx, q->c->cfg.batch, &idx);

	for (unsigned i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
		addr[i] = d->addr;
		q->st.rx_bytes += d->len;
	}
	if (n) {
		xsk_ring_cons__release(&q->rx, n);
		q->st.rx += n;
		fill_put(q, addr, n);
	}
	return n;
}

/* --- engine:l2fwd,交換 MAC、從同一個佇列送回(群播 / 廣播 frame 不送回:交換後來源 MAC 會是群播) --- */
static unsigned rx_l2fwd(struct xsk_queue *q)
{
	struct ctx *c = q->c;
	uint64_t addr[MAX_BATCH], drop[MAX_BATCH];
	uint32_t len[MAX_BATCH], idx;
	unsigned n = xsk_ring_cons__peek(&q->rx, c->cfg.batch, &idx), nt = 0, nd = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
		uint8_t *p = xsk_umem__get_data(c->umem_area, d->addr);
		q->st.rx_bytes += d->len;
		if (d->len < ETH_HLEN || d->len > c->cfg.frame_size - XDP_PACKET_HEADROOM || (p[0] & 1)) {
			q->st.malformed++;
			drop[nd++] = d->addr;
			continue;
		}
		swap_mac(p);
		addr[nt] = d->addr;
		len[nt++] = d->len;
	}
	if (n) {
		xsk_ring_cons__release(&q->rx, n);
		q->st.rx += n;
		tx_put(q, addr, len, nt);
		fill_put(q, drop, nd);
	}
	return n;
}

/* 不能當回覆目的地的來源 IPv4(核心稱為 martian,它也不回答):0/8、127/8、群播與保留位址(224 以上)、
 * 我們自己、我們網段的廣播位址 */
static bool martian_src(const struct ctx *c, const uint8_t *ip)
{
	uint32_t a;

	memcpy(&a, ip, 4);
	return ip[0] == 0 || ip[0] == 127 || ip[0] >= 224 || a == c->cfg.ip.s_addr ||
	       (c->ip_mask && (a | c->ip_mask) == UINT32_MAX);
}

/*
 * respond 的解析:XDP 程式已經挑過,但使用者空間仍逐層檢查長度與檢查碼(XDP 程式只看幾個欄位;
 * 對端說的長度不可信)。回傳要送出的長度;0 表示丟棄。所有讀取都不超過 len。
 * 回覆送到請求的來源 MAC / IP:來源是群播、廣播或 martian 位址的請求一律丟棄(算格式錯誤),
 * 否則偽造來源的對端能讓我們把回覆廣播給整個網段。
 */
static uint32_t respond(struct xsk_queue *q, uint8_t *p, uint32_t len)
{
	const struct ctx *c = q->c;
	struct counters *st = &q->st;
	uint32_t off = 12;
	uint16_t type;

	if (len < ETH_HLEN || (p[6] & 1)) { /* 太短,或來源 MAC 是群播 / 廣播 */
		st->malformed++;
		return 0;
	}
	type = rd16(p + off);
	for (int tags = 0; (type == ETH_P_8021Q || type == ETH_P_8021AD) && tags < 2; tags++) {
		if (len < off + 6) {
			st->malformed++;
			return 0;
		}
		if (rd16(p + off + 2) & 0x0fff) { /* VID 不是 0:屬於 VLAN 子介面(XDP 程式本來就交給核心) */
			st->not_for_us++;
			return 0;
		}
		st->vlan += tags == 0;
		off += 4;
		type = rd16(p + off);
	}
	off += 2; /* 第三層開頭 */

	if (type == ETH_P_ARP) {
		uint8_t *a = p + off;
		if (len < off + 28) {
			st->malformed++;
			return 0;
		}
		if (rd16(a) != 1 || rd16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4 || (a[8] & 1)) {
			st->malformed++; /* 不是乙太網路 / IPv4 的 ARP、長度欄位錯誤,或發送者 MAC 是群播 */
			return 0;
		}
		if (rd16(a + 6) != 1 || memcmp(a + 24, &c->cfg.ip, 4)) {
			st->not_for_us++;
			return 0;
		}
		/* 發送者 IP 是 martian(0.0.0.0 除外:那是 RFC 5227 的位址衝突探測,核心會回答)或就是我們
		 * (免費 ARP、位址衝突):核心不回答,我們也不回答 */
		uint32_t sip;
		memcpy(&sip, a + 14, 4);
		if (sip && martian_src(c, a + 14)) {
			st->malformed++;
			return 0;
		}
		st->arp_req++;
		/* 就地改成回覆 */
		memcpy(p, a + 8, 6);
		memcpy(p + 6, c->if_mac, 6);
		wr16(a + 6, 2);
		memcpy(a + 18, a + 8, 10); /* 目標 = 原本的發送者(MAC + IP) */
		memcpy(a + 8, c->if_mac, 6);
		memcpy(a + 14, &c->cfg.ip, 4);
		st->arp_reply++;
		return off + 28;
	}
	if (type != ETH_P_IP) {
		st->other++;
		return 0;
	}

	uint8_t *ip = p + off;
	if (len < off + 20) {
		st->malformed++;
		return 0;
	}
	uint32_t ihl = (ip[0] & 0x0f) * 4u, tot = rd16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || len < off + ihl || tot < ihl || tot > len - off ||
	    csum(ip, ihl, 0) != 0) {
		st->malformed++;
		return 0;
	}
	if (memcmp(ip + 16, &c->cfg.ip, 4)) {
		st->not_for_us++;
		return 0;
	}
	if (martian_src(c, ip + 12)) {
		st->malformed++;
		return 0;
	}
	if (ihl != 20) { /* IP 選項:XDP 程式本來就交給核心,這裡不會看到 */
		st->other++;
		return 0;
	}
	if (rd16(ip + 6) & 0x3fff) { /* MF 旗標或片段位移:XDP 程式本來就交給核心,這裡不會看到 */
		st->fragments++;
		return 0;
	}
	if (ip[9] != IPPROTO_ICMP) {
		st->other++;
		return 0;
	}
	uint8_t *icmp = ip + ihl;
	uint32_t ilen = tot - ihl;
	if (ilen < 8 || csum(icmp, ilen, 0) != 0) {
		st->malformed++;
		return 0;
	}
	if (icmp[0] != 8 || icmp[1] != 0) {
		st->other++;
		return 0;
	}
	st->icmp_req++;
	swap_mac(p);
	memcpy(p + 6, c->if_mac, 6);
	uint8_t tmp[4];
	memcpy(tmp, ip + 12, 4);
	memcpy(ip + 12, ip + 16, 4);
	memcpy(ip + 16, tmp, 4);
	ip[8] = 64;
	wr16(ip + 10, 0);
	wr16(ip + 10, csum(ip, ihl, 0));
	icmp[0] = 0;
	wr16(icmp + 2, 0);
	wr16(icmp + 2, csum(icmp, ilen, 0));
	st->icmp_reply++;
	return off + tot; /* 去掉乙太網路的補齊位元組 */
}

/* --- engine:respond,回答 ARP 與 ping,其他回收 --- */
static unsigned rx_respond(struct xsk_queue *q)
{
	struct ctx *c = q->c;
	uint64_t addr[MAX_BATCH], drop[MAX_BATCH];
	uint32_t len[MAX_BATCH], idx;
	unsigned n = xsk_ring_cons__peek(&q->rx, c->cfg.batch, &idx), nt = 0, nd = 0;

	for (unsigned i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&q->rx, idx + i);
		uint32_t out = 0;

		q->st.rx_bytes += d->len;
		if (d->len <= c->cfg.frame_size - XDP_PACKET_HEADROOM) /* 核心保證,但絕不越界 */
			out = respond(q, xsk_umem__get_data(c->umem_area, d->addr), d->len);
		else
			q->st.malformed++;
		if (out) {
			addr[nt] = d->addr;
			len[nt++] = out;
		} else {
			drop[nd++] = d->addr;
		}
	}
	if (n) {
		xsk_ring_cons__release(&q->rx, n);
		q->st.rx += n;
		tx_put(q, addr, len, nt);
		fill_put(q, drop, nd);
	}
	return n;
}

/* txonly:建立 UDP 封包樣板(內容不是全零:payload 是 A..Z 重複,檢查碼正確) */
static void build_template(struct ctx *c)
{
	uint8_t *p = c->tx_template;
	unsigned size = c->cfg.pkt_size;
	uint16_t ip_len = (uint16_t)(size - ETH_HLEN), udp_len = (uint16_t)(ip_len - 20);

	memset(p, 0, sizeof(c->tx_template));
	memcpy(p, c->cfg.dst_mac, 6);
	memcpy(p + 6, c->cfg.src_mac, 6);
	wr16(p + 12, ETH_P_IP);
	uint8_t *ip = p + ETH_HLEN;
	ip[0] = 0x45;
	wr16(ip + 2, ip_len);
	wr16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &c->cfg.src_ip, 4);
	memcpy(ip + 16, &c->cfg.dst_ip, 4);
	wr16(ip + 10, csum(ip, 20, 0));
	uint8_t *udp = ip + 20;
	wr16(udp, c->cfg.src_port);
	wr16(udp + 2, c->cfg.dst_port);
	wr16(udp + 4, udp_len);
	for (unsigned i = 8; i < udp_len; i++)
		udp[i] = (uint8_t)('A' + i % 26);
	/* UDP 檢查碼含虛擬標頭 */
	uint32_t sum = rd16(ip + 12) + rd16(ip + 14) + rd16(ip + 16) + rd16(ip + 18) + IPPROTO_UDP + udp_len;
	uint16_t ck = csum(udp, udp_len, sum);
	wr16(udp + 6, ck ? ck : 0xffff);
}

/* txonly 的 frame 沒有別人會寫(沒有 RX ring):每個 frame 在啟動時寫一次樣板,送出時不必再複製 */
static void prefill_tx_frames(struct ctx *c)
{
	for (unsigned i = 0; i < c->nq; i++)
		for (unsigned f = 0; f < c->q[i].nfree; f++)
			memcpy(xsk_umem__get_data(c->umem_area, c->q[i].free_frames[f]), c->tx_template, c->cfg.pkt_size);
}

/* --- engine:txonly,從空閒堆疊拿 frame、放進 TX ring(可限速、限數量) --- */
static unsigned tx_only(struct xsk_queue *q)
{
	struct ctx *c = q->c;
	unsigned n = c->cfg.batch;
	uint32_t idx;

	if (q->tx_generated >= q->tx_goal) { /* 送完了(或這個佇列分到 0 個):最後一批的 completion 回來就結束 */
		if (!q->tx_in_flight)
			__atomic_store_n(&q->done, 1, __ATOMIC_RELEASE);
		return 0;
	}
	if (q->tx_goal - q->tx_generated < n)
		n = (unsigned)(q->tx_goal - q->tx_generated);
	if (q->tx_rate) {
		/* 依經過的時間算出目前最多可以送幾個(128 位元乘法:長時間高速率下 64 位元會溢位) */
		uint64_t allowed =
			(uint64_t)((unsigned __int128)(now_ns() - q->tx_t0_ns) * q->tx_rate / 1000000000ull);
		n = allowed <= q->tx_generated ? 0 : (unsigned)(allowed - q->tx_generated < n ? allowed - q->tx_generated : n);
	}
	if (n > q->nfree)
		n = q->nfree;
	if (!n)
		return 0;
	n = xsk_ring_prod__reserve(&q->tx, n, &idx);
	if (!n) {
		q->st.tx_ring_full++;
		return 0;
	}
	for (unsigned i = 0; i < n; i++) {
		uint64_t addr = q->free_frames[--q->nfree]; /* 內容在啟動時就寫好了(prefill_tx_frames) */
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&q->tx, idx + i);
		d->addr = addr;
		d->len = c->cfg.pkt_size;
	}
	xsk_ring_prod__submit(&q->tx, n);
	q->tx_unkicked += n;
	q->tx_in_flight += n;
	q->tx_generated += n;
	q->st.tx += n;
	q->st.tx_bytes += (uint64_t)n * c->cfg.pkt_size;
	return n;
}

/* recvfrom(0 位元組):叫醒驅動程式收包,或在 busy-poll 時就在這裡執行 NAPI */
static void rx_wakeup(struct xsk_queue *q)
{
	if (recvfrom(q->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL) < 0 && (errno == ENETDOWN || errno == ENXIO))
		set_fatal(q->c, "介面 %s 已消失或不再可用(recvfrom:%s)", q->c->cfg.ifname, strerror(errno));
}

/* 沒事做時的等待。預設 poll():有封包或 100 ms 到了才回來 */
static void queue_wait(struct xsk_queue *q)
{
	struct ctx *c = q->c;

	switch (c->cfg.wait) {
	case WAIT_SPIN:
		/* zero-copy 驅動程式用完 fill ring 時會設旗標,要我們叫醒它;copy 模式不會設 */
		if (c->cfg.mode != MODE_TXONLY && xsk_ring_prod__needs_wakeup(&q->fill))
			rx_wakeup(q);
		return;
	case WAIT_BUSY_POLL:
		/* 在這個執行緒裡執行驅動程式的 NAPI 輪詢(SO_BUSY_POLL),而不是等中斷 */
		if (c->cfg.mode != MODE_TXONLY)
			rx_wakeup(q);
		return;
	case WAIT_POLL:
		break;
	}
	if (c->cfg.mode == MODE_TXONLY) {
		/* 限速時睡到下一個封包該送的時間;沒有空閒 frame 時等 completion(最多 10 ms) */
		uint64_t ns = 10000000;
		if (q->tx_rate && q->nfree && !q->done)
			ns = 1000000000ull / q->tx_rate;
		else if (!q->nfree && q->tx_in_flight)
			ns = 20000;
		struct timespec ts = { (time_t)(ns / 1000000000ull), (long)(ns % 1000000000ull) };
		nanosleep(&ts, NULL);
		return;
	}
	struct pollfd pfd = { .fd = q->fd, .events = POLLIN };
	if (poll(&pfd, 1, POLL_TIMEOUT_MS) < 0 && errno != EINTR)
		set_fatal(q->c, "佇列 %u 的 poll 失敗:%s", q->id, strerror(errno));
	if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL))
		set_fatal(q->c, "佇列 %u 的 socket 出錯(介面消失?)", q->id);
}

static void *queue_thread(void *arg)
{
	struct xsk_queue *q = arg;
	struct ctx *c = q->c;

	if (q->cpu >= 0) {
		cpu_set_t set;
		int err;
		CPU_ZERO(&set);
		CPU_SET(q->cpu, &set);
		if ((err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set)))
			set_fatal(q->c, "無法把佇列 %u 的執行緒釘在 CPU %d:%s", q->id, q->cpu, strerror(err));
	}
	q->tx_t0_ns = now_ns();
	while (!__atomic_load_n(&c->stop, __ATOMIC_ACQUIRE)) {
		__atomic_store_n(&q->loops, q->loops + 1, __ATOMIC_RELAXED);
		unsigned work = reap_completions(q);
		work += c->engine(q);
		tx_kick(q);
		if (!work && !q->tx_again)
			queue_wait(q);
	}
	/* 結束前讓已放進 TX ring 的封包送完(最多 1 秒;介面消失時不等) */
	uint64_t t0 = now_ns();
	while (q->tx_in_flight && !__atomic_load_n(&c->fatal, __ATOMIC_ACQUIRE) && now_ns() - t0 < 1000000000ull) {
		q->tx_again = true;
		tx_kick(q);
		if (!reap_completions(q))
			usleep(100);
	}
	return NULL;
}

/* ======================================================================
 * 5. 統計:主執行緒每秒一次;數字都是這一秒的變化量
 * ====================================================================== */

static const char *commas(uint64_t v, char *buf, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v);
	size_t o = 0;

	for (int i = 0; i < n && o + 2 < len; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

static void xdp_stats(const struct xsk_queue *q, struct xdp_statistics *xs)
{
	socklen_t len = sizeof(*xs);

	memset(xs, 0, sizeof(*xs));
	if (getsockopt(q->fd, SOL_XDP, XDP_STATISTICS, xs, &len))
		memset(xs, 0, sizeof(*xs)); /* 介面消失後讀不到:當作 0,主執行緒另外偵測 */
}

/* XDP 程式在佇列 qid 上的計數(per-CPU map:把每顆 CPU 的加起來) */
static void prog_counters(const struct ctx *c, unsigned qid, struct queue_counters *out)
{
	struct queue_counters v[c->ncpus_possible > 0 ? c->ncpus_possible : 1];

	memset(out, 0, sizeof(*out));
	if (c->stats_map_fd < 0 || c->ncpus_possible <= 0 || bpf_map_lookup_elem(c->stats_map_fd, &qid, v))
		return;
	for (int i = 0; i < c->ncpus_possible; i++) {
		out->redirected += v[i].redirected;
		out->passed += v[i].passed;
	}
}

static void print_tick(struct ctx *c, double dt)
{
	uint64_t tot_rx = 0, tot_tx = 0, tot_red = 0, tot_pass = 0, tot_drop = 0;
	char a[32], b[32], d[32], e[32];

	for (unsigned i = 0; i < c->nq; i++) {
		struct xsk_queue *q = &c->q[i];
		struct counters now = q->st;
		struct xdp_statistics xs;
		struct queue_counters pc;

		xdp_stats(q, &xs);
		prog_counters(c, q->id, &pc);
		uint64_t rx = now.rx - q->last.rx, tx = now.tx - q->last.tx;
		uint64_t red = pc.redirected - q->prog_last.redirected, pass = pc.passed - q->prog_last.passed;
		uint64_t dropped = xs.rx_dropped - q->xs_last.rx_dropped;
		printf("[統計] 佇列 %u:RX %s pps | TX %s pps | XDP 導向 %s/s、交給核心 %s/s | 核心丟棄 +%llu"
		       "(rx_ring_full +%llu、fill_empty +%llu、rx_invalid +%llu、tx_invalid +%llu)\n",
		       q->id, commas((uint64_t)(rx / dt), a, sizeof(a)), commas((uint64_t)(tx / dt), b, sizeof(b)),
		       commas((uint64_t)(red / dt), d, sizeof(d)), commas((uint64_t)(pass / dt), e, sizeof(e)),
		       (unsigned long long)dropped,
		       (unsigned long long)(xs.rx_ring_full - q->xs_last.rx_ring_full),
		       (unsigned long long)(xs.rx_fill_ring_empty_descs - q->xs_last.rx_fill_ring_empty_descs),
		       (unsigned long long)(xs.rx_invalid_descs - q->xs_last.rx_invalid_descs),
		       (unsigned long long)(xs.tx_invalid_descs - q->xs_last.tx_invalid_descs));
		tot_rx += rx;
		tot_tx += tx;
		tot_red += red;
		tot_pass += pass;
		tot_drop += dropped;
		q->last = now;
		q->xs_last = xs;
		q->prog_last = pc;
	}
	if (c->nq > 1)
		printf("[統計] 合計:RX %s pps | TX %s pps | XDP 導向 %s/s、交給核心 %s/s | 核心丟棄 +%llu\n",
		       commas((uint64_t)(tot_rx / dt), a, sizeof(a)), commas((uint64_t)(tot_tx / dt), b, sizeof(b)),
		       commas((uint64_t)(tot_red / dt), d, sizeof(d)), commas((uint64_t)(tot_pass / dt), e, sizeof(e)),
		       (unsigned long long)tot_drop);
	fflush(stdout);
}

static void add_counters(struct counters *t, const struct counters *s)
{
	const uint64_t *src = (const uint64_t *)s;
	uint64_t *dst = (uint64_t *)t;

	for (size_t i = 0; i < sizeof(*s) / sizeof(uint64_t); i++)
		dst[i] += src[i];
}

static void print_summary(struct ctx *c)
{
	struct counters t = { 0 };
	struct xdp_statistics xt = { 0 }, xs;
	struct queue_counters pt = { 0 }, pc;
	struct timespec now;
	struct rusage ru;
	char a[32], b[32];
	char perq[2048];
	size_t o = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	double el = (double)(now.tv_sec - c->start.tv_sec) + (double)(now.tv_nsec - c->start.tv_nsec) / 1e9;
	perq[0] = '\0';
	for (unsigned i = 0; i < c->nq; i++) {
		struct xsk_queue *q = &c->q[i];
		add_counters(&t, &q->st);
		xdp_stats(q, &xs);
		xt.rx_dropped += xs.rx_dropped;
		xt.rx_invalid_descs += xs.rx_invalid_descs;
		xt.tx_invalid_descs += xs.tx_invalid_descs;
		xt.rx_ring_full += xs.rx_ring_full;
		xt.rx_fill_ring_empty_descs += xs.rx_fill_ring_empty_descs;
		xt.tx_ring_empty_descs += xs.tx_ring_empty_descs;
		if (o < sizeof(perq) - 64)
			o += (size_t)snprintf(perq + o, sizeof(perq) - o, " q%u_rx=%llu q%u_tx=%llu", q->id,
					      (unsigned long long)q->st.rx, q->id, (unsigned long long)q->st.tx);
	}
	/* XDP 程式的計數涵蓋介面的每個佇列(包括我們沒服務、全部交給核心的那些) */
	for (unsigned qid = 0; c->prog_id && qid < c->if_queues; qid++) {
		prog_counters(c, qid, &pc);
		pt.redirected += pc.redirected;
		pt.passed += pc.passed;
		if ((pc.redirected || pc.passed) && o < sizeof(perq) - 64)
			o += (size_t)snprintf(perq + o, sizeof(perq) - o, " q%u_redirected=%llu q%u_passed=%llu", qid,
					      (unsigned long long)pc.redirected, qid, (unsigned long long)pc.passed);
	}
	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec / 1e6;

	printf("\n== 總結(%s 模式,%u 個佇列,%.1f 秒,CPU %.2f 秒)==\n", mode_names[c->cfg.mode], c->nq, el, cpu);
	printf("  收到 %s 個封包(平均 %.0f pps),送出 %s 個\n", commas(t.rx, a, sizeof(a)), el > 0 ? t.rx / el : 0,
	       commas(t.tx, b, sizeof(b)));
	if (c->prog_id)
		printf("  XDP 程式(全部佇列):導向我們的 socket %s 個、交給核心 %s 個\n",
		       commas(pt.redirected, a, sizeof(a)), commas(pt.passed, b, sizeof(b)));
	if (c->cfg.mode == MODE_RESPOND)
		printf("  ARP 請求 %llu / 回覆 %llu;ICMP echo 請求 %llu / 回覆 %llu\n", (unsigned long long)t.arp_req,
		       (unsigned long long)t.arp_reply, (unsigned long long)t.icmp_req, (unsigned long long)t.icmp_reply);
	printf("  丟棄:格式錯誤 %llu、不是給我們的 %llu、其他協定 %llu、IP 片段 %llu;VLAN 封包 %llu;TX ring 滿 %llu\n",
	       (unsigned long long)t.malformed, (unsigned long long)t.not_for_us, (unsigned long long)t.other,
	       (unsigned long long)t.fragments, (unsigned long long)t.vlan, (unsigned long long)t.tx_ring_full);
	printf("  核心 XDP_STATISTICS:rx_dropped %llu、rx_invalid %llu、rx_ring_full %llu、fill_empty %llu、"
	       "tx_invalid %llu、tx_ring_empty %llu\n",
	       (unsigned long long)xt.rx_dropped, (unsigned long long)xt.rx_invalid_descs,
	       (unsigned long long)xt.rx_ring_full, (unsigned long long)xt.rx_fill_ring_empty_descs,
	       (unsigned long long)xt.tx_invalid_descs, (unsigned long long)xt.tx_ring_empty_descs);
	printf("SUMMARY prog=af_xdp_socket mode=%s queues=%u rx=%llu tx=%llu rx_bytes=%llu tx_bytes=%llu "
	       "arp_req=%llu arp_reply=%llu icmp_req=%llu icmp_reply=%llu malformed=%llu not_for_us=%llu "
	       "other=%llu fragments=%llu vlan=%llu tx_ring_full=%llu xdp_redirected=%llu xdp_passed=%llu "
	       "rx_dropped=%llu rx_invalid=%llu rx_ring_full=%llu fill_empty=%llu tx_invalid=%llu "
	       "tx_ring_empty=%llu zerocopy=%d elapsed_s=%.3f cpu_s=%.3f%s\n",
	       mode_names[c->cfg.mode], c->nq, (unsigned long long)t.rx, (unsigned long long)t.tx,
	       (unsigned long long)t.rx_bytes, (unsigned long long)t.tx_bytes, (unsigned long long)t.arp_req,
	       (unsigned long long)t.arp_reply, (unsigned long long)t.icmp_req, (unsigned long long)t.icmp_reply,
	       (unsigned long long)t.malformed, (unsigned long long)t.not_for_us, (unsigned long long)t.other,
	       (unsigned long long)t.fragments, (unsigned long long)t.vlan, (unsigned long long)t.tx_ring_full,
	       (unsigned long long)pt.redirected, (unsigned long long)pt.passed, (unsigned long long)xt.rx_dropped,
	       (unsigned long long)xt.rx_invalid_descs, (unsigned long long)xt.rx_ring_full,
	       (unsigned long long)xt.rx_fill_ring_empty_descs, (unsigned long long)xt.tx_invalid_descs,
	       (unsigned long long)xt.tx_ring_empty_descs, c->zerocopy, el, cpu, perq);
	fflush(stdout);
}

/* 介面(或它的別名 va:1)上還有我們回答的 IPv4 位址嗎?查不到時當作有 */
static bool iface_has_ip(const struct ctx *c)
{
	struct ifaddrs *all, *i;
	size_t n = strlen(c->cfg.ifname);
	bool found = false;

	if (getifaddrs(&all))
		return true;
	for (i = all; i && !found; i = i->ifa_next)
		found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strncmp(i->ifa_name, c->cfg.ifname, n) &&
			(i->ifa_name[n] == '\0' || i->ifa_name[n] == ':') &&
			((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr == c->cfg.ip.s_addr;
	freeifaddrs(all);
	return found;
}

/* 介面還在、還是 up、還有我們回答的位址嗎?回傳 NULL 表示正常,否則是原因 */
static const char *iface_gone(const struct ctx *c, bool *vanished)
{
	struct ifreq ifr = { 0 };
	int fd, r;

	*vanished = (int)if_nametoindex(c->cfg.ifname) != c->ifindex;
	if (*vanished)
		return "已消失(被刪除或移到別的命名空間)";
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return NULL;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->cfg.ifname);
	r = ioctl(fd, SIOCGIFFLAGS, &ifr);
	close(fd);
	if (r == 0 && !(ifr.ifr_flags & IFF_UP))
		return "已被關閉(down)";
	/* DHCP 換了位址之後還替舊位址回答 ARP,會搶走接手那個位址的主機的流量 */
	if (c->ip_from_iface && c->cfg.mode == MODE_RESPOND && !iface_has_ip(c))
		return "上已經沒有我們回答的 IPv4 位址(被移除或換了;請重新啟動,或以 --ip 指定)";
	return NULL;
}

/*
 * 心跳(每 100 ms):每個佇列執行緒上次被看到在轉的時間取最早的一個寫進 alive map。佇列執行緒最多睡
 * POLL_TIMEOUT_MS(poll);busy-poll 與 --spin 不睡,所以正常時心跳最多落後約 200 ms,遠小於 XDP 程式的 1 秒門檻。
 */
static void heartbeat(struct ctx *c, uint64_t now)
{
	uint64_t oldest = now;

	for (unsigned i = 0; i < c->nq; i++) {
		struct xsk_queue *q = &c->q[i];
		unsigned long l = __atomic_load_n(&q->loops, __ATOMIC_RELAXED);
		if (l != q->loops_seen || !q->seen_ns) {
			q->loops_seen = l;
			q->seen_ns = now;
		}
		if (q->seen_ns < oldest)
			oldest = q->seen_ns;
	}
	bpf_map_update_elem(c->alive_map_fd, &(uint32_t){ 0 }, &oldest, BPF_ANY);
}

/*
 * 主執行緒:啟動佇列執行緒後只做四件事:送心跳、每秒印統計、檢查介面、等結束訊號。
 * 這裡的每一次等待都不超過 100 ms(心跳);每秒的檢查只讀 sysctl、netlink 與 getsockopt,不會卡住。
 * 訊號在所有執行緒都被擋住,只由這裡的 sigtimedwait 同步接收,所以不需要非同步的訊號處理函式。
 * 回傳結束碼。
 */
static int supervise(struct ctx *c, const sigset_t *sigs)
{
	uint64_t t0 = now_ns(), next_tick = t0 + 1000000000ull, last_tick = t0;
	uint64_t end = c->cfg.duration > 0 ? t0 + (uint64_t)(c->cfg.duration * 1e9) : 0;
	int rc = 0;

	for (;;) {
		struct timespec to = { 0, 100000000 }; /* 每 100 ms 送一次心跳、檢查一次介面 */
		int sig = sigtimedwait(sigs, NULL, &to);
		uint64_t now = now_ns();
		const char *why;
		bool vanished;

		if (c->attached != XDP_MODE_UNSPEC)
			heartbeat(c, now);
		if (__atomic_load_n(&c->fatal, __ATOMIC_ACQUIRE)) {
			rc = 1;
			break;
		}
		if (sig > 0 && sig != SIGUSR1) {
			printf("\n收到 %s,結束中…\n", strsignal(sig));
			break;
		}
		if ((why = iface_gone(c, &vanished))) {
			/* 介面被移到別的命名空間時 XDP 程式跟著它走,我們在這裡卸不下。bpf_link:我們結束時核心卸下;
			 * netlink:說怎麼卸(以 id 指名) */
			char cmd[256], hint[384] = "";
			if (vanished && c->attached != XDP_MODE_UNSPEC && c->link_fd < 0)
				snprintf(hint, sizeof(hint), ";若是被移到別的命名空間,XDP 程式還掛在它上面:%s",
					 unload_cmd(c, c->prog_id, "命名空間", cmd, sizeof(cmd)));
			set_fatal(c, "介面 %s %s,程式結束%s", c->cfg.ifname, why, hint);
			rc = 1;
			break;
		}
		if (now >= next_tick && c->attached != XDP_MODE_UNSPEC) {
			/* 每秒:掛著的還是我們的程式嗎?主機設定(sysctl、NOARP、netfilter)改了嗎? */
			char msg[384];
			if ((why = check_still_ours(c, msg, sizeof(msg)))) {
				set_fatal(c, "%s", why);
				rc = 1;
				break;
			}
			int err = apply_host_policy(c, false);
			if (err) {
				set_fatal(c, "更新 XDP 程式的設定失敗:%s", strerror(-err));
				rc = 1;
				break;
			}
		}
		if (now >= next_tick) {
			if (!c->cfg.quiet)
				print_tick(c, (double)(now - last_tick) / 1e9);
			last_tick = now;
			next_tick = now + 1000000000ull;
		}
		if (end && now >= end)
			break;
		if (c->cfg.mode == MODE_TXONLY && c->cfg.count) {
			unsigned done = 0;
			for (unsigned i = 0; i < c->nq; i++)
				done += (unsigned)__atomic_load_n(&c->q[i].done, __ATOMIC_ACQUIRE);
			if (done == c->nq)
				break;
		}
	}
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	return rc;
}

/* ======================================================================
 * 6. 清理:每個步驟都容許「還沒建立」,所以任何錯誤路徑都可以呼叫
 * ====================================================================== */
static void cleanup(struct ctx *c)
{
	__atomic_store_n(&c->stop, 1, __ATOMIC_RELEASE);
	for (unsigned i = 0; c->q && i < c->nq; i++)
		if (c->q[i].started)
			pthread_join(c->q[i].thread, NULL);
	xsk_close_all(c);
	xdp_detach(c);
	bpf_object__close(c->obj); /* 關掉程式與 map 的 fd(bpf_link 已在 xdp_detach 關掉) */
	c->obj = NULL;
	if (c->sysfs_changed) {
		sysfs_rw(c->cfg.ifname, "napi_defer_hard_irqs", c->saved_defer, NULL, 0);
		sysfs_rw(c->cfg.ifname, "gro_flush_timeout", c->saved_gro, NULL, 0);
	}
	if (c->umem_area)
		munmap(c->umem_area, c->umem_size);
	for (unsigned i = 0; c->q && i < c->nq; i++)
		free(c->q[i].free_frames);
	free(c->q);
}

/* ======================================================================
 * 7. 選項、說明與環境檢查
 * ====================================================================== */

struct opt_help {
	struct option opt;
	const char *arg;
	const char *help;
};

enum {
	OPT_CPU = 256, OPT_FRAMES, OPT_FRAME_SIZE, OPT_DURATION, OPT_IP, OPT_SRC_MAC, OPT_DST_MAC, OPT_SRC_IP,
	OPT_DST_IP, OPT_SRC_PORT, OPT_DST_PORT, OPT_SIZE, OPT_RATE, OPT_COUNT, OPT_NO_WAKEUP, OPT_UDP_PORT,
	OPT_ALL, OPT_SPIN, OPT_BYPASS_FW, OPT_RESPECT_FW, OPT_UNLOAD,
};

static const struct opt_help options[] = {
	{ { "mode", required_argument, NULL, 'm' }, "模式", "respond(預設)| rxdrop | txonly | l2fwd" },
	{ { "udp-port", required_argument, NULL, OPT_UDP_PORT }, "埠", "rxdrop/l2fwd:拿走送到這個 UDP 埠的封包(預設 9)" },
	{ { "all", no_argument, NULL, OPT_ALL }, NULL, "rxdrop/l2fwd:拿走佇列上的全部封包(核心在這些佇列上看不到任何東西)" },
	{ { "skb", no_argument, NULL, 'S' }, NULL, "SKB(generic)掛載模式:任何驅動程式都可用,較慢" },
	{ { "native", no_argument, NULL, 'N' }, NULL, "native(驅動程式)掛載模式" },
	{ { "copy", no_argument, NULL, 'c' }, NULL, "copy 模式綁定" },
	{ { "zerocopy", no_argument, NULL, 'z' }, NULL, "zero-copy 模式綁定(驅動程式要支援)" },
	{ { "busy-poll", no_argument, NULL, 'B' }, NULL, "忙碌輪詢:SO_PREFER_BUSY_POLL + 調整 NAPI(最低延遲,佔滿 CPU)" },
	{ { "spin", no_argument, NULL, OPT_SPIN }, NULL, "一直輪詢 ring、不睡(效能量測用,佔滿 CPU);預設 poll() 閒置時睡" },
	{ { "no-need-wakeup", no_argument, NULL, OPT_NO_WAKEUP }, NULL, "關閉 need_wakeup(每批都 sendto 喚醒核心)" },
	{ { "batch", required_argument, NULL, 'b' }, "N", "每次處理的封包數,1..256(預設 64)" },
	{ { "cpu", required_argument, NULL, OPT_CPU }, "清單", "佇列執行緒釘在這些 CPU(例:0 或 0,2 或 0-3;依序對應佇列)" },
	{ { "frames", required_argument, NULL, OPT_FRAMES }, "N", "每個佇列的 UMEM frame 數,2 的次方,64..65536(預設 8192)" },
	{ { "frame-size", required_argument, NULL, OPT_FRAME_SIZE }, "位元組", "frame 大小 2048 或 4096(預設 2048)" },
	{ { "duration", required_argument, NULL, OPT_DURATION }, "秒", "執行多久後結束(預設直到 Ctrl-C)" },
	{ { "quiet", no_argument, NULL, 'q' }, NULL, "不印每秒統計" },
	{ { "ip", required_argument, NULL, OPT_IP }, "位址", "respond:要回答的 IPv4 位址(預設介面本身的位址)" },
	{ { "src-mac", required_argument, NULL, OPT_SRC_MAC }, "MAC", "txonly:來源 MAC(預設介面 MAC)" },
	{ { "dst-mac", required_argument, NULL, OPT_DST_MAC }, "MAC", "txonly:目的 MAC(預設查 ARP 表中 --dst-ip 的 MAC;不用廣播)" },
	{ { "src-ip", required_argument, NULL, OPT_SRC_IP }, "位址", "txonly:來源 IPv4(預設介面位址)" },
	{ { "dst-ip", required_argument, NULL, OPT_DST_IP }, "位址", "txonly:目的 IPv4(必要)" },
	{ { "src-port", required_argument, NULL, OPT_SRC_PORT }, "埠", "txonly:UDP 來源埠(預設 9000)" },
	{ { "dst-port", required_argument, NULL, OPT_DST_PORT }, "埠", "txonly:UDP 目的埠(預設 9,discard)" },
	{ { "size", required_argument, NULL, OPT_SIZE }, "位元組", "txonly:frame 大小(不含 FCS),42..3840 且不超過 MTU + 14(預設 64)" },
	{ { "rate", required_argument, NULL, OPT_RATE }, "pps", "txonly:每秒封包數,全部佇列合計(預設 0 = 全速)" },
	{ { "count", required_argument, NULL, OPT_COUNT }, "N", "txonly:送出 N 個後結束(全部佇列合計)" },
	{ { "bypass-firewall", no_argument, NULL, OPT_BYPASS_FW }, NULL, "netfilter 有規則時照拿(拿走的封包不經過防火牆)" },
	{ { "respect-firewall", no_argument, NULL, OPT_RESPECT_FW }, NULL, "netfilter 有規則時什麼都不拿,由核心照防火牆回答" },
	{ { "unload", required_argument, NULL, OPT_UNLOAD }, "id", "卸下被 SIGKILL 的 af_xdp_socket 以 netlink 留下的程式後結束" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "顯示這份說明" },
	{ { NULL, 0, NULL, 0 }, NULL, NULL },
};

/* UTF-8 字串在終端機上佔幾欄:--help 的中文參數名(「位元組」)每個字 3 個位元組、2 欄,
 * printf 的 %-28s 算的是位元組,會把每一行都對歪。這裡數的是欄:3、4 位元組的字元(中日韓)2 欄,其他 1 欄。 */
static int display_width(const char *s)
{
	int w = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if ((*p & 0xc0) != 0x80) /* 每個字元的第一個位元組 */
			w += *p >= 0xe0 ? 2 : 1;
	return w;
}

static void usage(const char *prog)
{
	int col = 0;

	printf("用法:%s [選項] 介面 [佇列]\n", prog);
	printf("      %s --unload id 介面\n", prog);
	printf("AF_XDP 示範:把介面佇列上「這個模式要處理的」封包直接交給使用者空間,其他照常交給核心。需要 root。\n"
	       "佇列:一個編號(預設 0)、一段範圍(0-3)或 all;每個佇列一個 socket 與一個執行緒,共用一塊 UMEM。\n\n"
	       "選項:\n");
	for (int pass = 0; pass < 2; pass++) /* 第一輪量左欄最寬多少,第二輪印 */
		for (const struct opt_help *o = options; o->opt.name; o++) {
			char left[64];
			snprintf(left, sizeof(left), "%s%c%s--%s%s%s", o->opt.val < 256 ? "-" : " ",
				 o->opt.val < 256 ? o->opt.val : ' ', o->opt.val < 256 ? ", " : "  ", o->opt.name,
				 o->arg ? " " : "", o->arg ? o->arg : "");
			if (!pass)
				col = display_width(left) > col ? display_width(left) : col;
			else
				printf("  %s%*s  %s\n", left, col - display_width(left), "", o->help);
		}
	printf("\n拿走的封包:respond = 對本機 IPv4 的 ARP 請求與 ping;rxdrop/l2fwd = 送到 --udp-port 的 UDP;\n"
	       "txonly 不掛 XDP 程式。其他封包(SSH、TCP、IPv6…)全部照常交給核心。\n"
	       "不指定 -S/-N/-c/-z 時自動選最好的:native + zero-copy,不行就 native + copy,再不行 SKB + copy。\n"
	       "資源上限:記憶體 = 佇列數 × frames × frame-size(預設每個佇列 16 MiB),啟動時一次配置;\n"
	       "對端的流量無法讓程式配置更多,ring 滿時多出來的封包由核心丟棄並計數。\n\n"
	       "主機的決定照樣有效(啟動時與每秒重讀):icmp_echo_ignore_all、icmp_ratemask 含 echo reply 時 ping 交給核心;\n"
	       "介面 NOARP、arp_ignore 為 1(位址不在這個介面)/2/3/8、arp_filter 時 ARP 交給核心;\n"
	       "送到廣播 / 群播位址的 ping 一律交給核心(icmp_echo_ignore_broadcasts 由它決定)。\n"
	       "回程路由(每秒從路由表重讀,只看 main / local / default 表,不模擬 ip rule):來源的回程路由不從這個介面出去\n"
	       "(沒有路由、走別的介面、黑洞)的 ping 交給核心;rp_filter 開著時 ARP 也一樣。路由表超過 %d 個前綴時\n"
	       "ARP 與 ping 全部交給核心。\n"
	       "netfilter(nftables、iptables)有看得到進來的 ARP / IPv4 的規則時,XDP 拿走的封包不會經過它們:\n"
	       "respond 與 l2fwd 預設不啟動,請選 --bypass-firewall 或 --respect-firewall;rxdrop 只說一行。\n\n"
	       "掛載:XDP 程式以 bpf_link 掛上(核心 5.9+),行程以任何方式結束(包括 SIGKILL)核心都會卸下它。\n"
	       "沒有 bpf_link 的核心退回 netlink 掛載:被 SIGKILL 時程式會留下,啟動時印出以 id 指名的卸載指令\n"
	       "(%s --unload id 介面;只卸 af_xdp_socket 留下、擁有者已不在的那一個)。\n"
	       "心跳:主執行緒每 100 ms 確認每個佇列執行緒都還在轉,告訴 XDP 程式;超過 1 秒沒有心跳(行程被 SIGSTOP 凍住、\n"
	       "執行緒卡住、netlink 掛載的程式在 SIGKILL 後留下)時 XDP 程式什麼都不拿,全部交給核心。\n\n"
	       "環境變數:AF_XDP_NETLINK=1 不用 bpf_link(模擬舊核心);AF_XDP_DEBUG=1 顯示 libbpf/libxdp 的全部訊息。\n",
	       ROUTE_MAX, prog);
}

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "錯誤:");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "(--help 看說明)\n");
	exit(EXIT_USAGE);
}

static uint64_t parse_num(const char *s, const char *name, uint64_t min, uint64_t max)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "錯誤:%s 必須是 %llu 到 %llu 之間的整數,得到「%s」(--help 看說明)\n", name,
			(unsigned long long)min, (unsigned long long)max, s);
		exit(EXIT_USAGE);
	}
	return v;
}

/* 「3」或「0-3」:回傳範圍;格式錯誤時以 usage_error 結束 */
static void parse_range(const char *s, const char *name, unsigned max, unsigned *lo, unsigned *hi)
{
	char buf[32];
	char *dash;

	if (strlen(s) >= sizeof(buf))
		usage_error("%s 太長", name);
	snprintf(buf, sizeof(buf), "%s", s);
	dash = strchr(buf, '-');
	if (dash == buf)
		usage_error("%s 不能是負數", name);
	if (dash)
		*dash = '\0';
	*lo = (unsigned)parse_num(buf, name, 0, max);
	*hi = dash ? (unsigned)parse_num(dash + 1, name, 0, max) : *lo;
	if (*hi < *lo)
		usage_error("%s 的範圍顛倒了:「%s」", s);
}

static void parse_cpus(const char *s, struct config *cfg)
{
	char buf[256];

	if (strlen(s) >= sizeof(buf))
		usage_error("--cpu 清單太長:「%s」", s);
	snprintf(buf, sizeof(buf), "%s", s);
	cfg->ncpus = 0;
	for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		unsigned lo, hi;
		parse_range(tok, "--cpu", 4095, &lo, &hi);
		for (unsigned i = lo; i <= hi; i++) {
			if (cfg->ncpus >= MAX_QUEUES)
				usage_error("--cpu 最多 256 顆 CPU:「%s」", s);
			cfg->cpus[cfg->ncpus++] = (int)i;
		}
	}
	if (!cfg->ncpus)
		usage_error("--cpu 需要 CPU 清單,例如 0 或 0,2:「%s」", s);
}

static void parse_mac(const char *s, uint8_t mac[6], const char *name)
{
	unsigned m[6];
	char extra;

	if (sscanf(s, "%x:%x:%x:%x:%x:%x%c", &m[0], &m[1], &m[2], &m[3], &m[4], &m[5], &extra) != 6)
		usage_error("%s 需要 MAC 位址(例如 02:00:00:00:00:01)", name);
	for (int i = 0; i < 6; i++) {
		if (m[i] > 255)
			usage_error("%s 的 MAC 位址每段必須 <= ff", name);
		mac[i] = (uint8_t)m[i];
	}
}

static void parse_ip(const char *s, struct in_addr *a, const char *name)
{
	if (inet_pton(AF_INET, s, a) != 1)
		usage_error("%s 需要 IPv4 位址", name);
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	struct option longopts[sizeof(options) / sizeof(options[0])];
	char shortopts[64] = "";
	size_t n = 0;

	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		longopts[i] = options[i].opt;
		if (options[i].opt.name && options[i].opt.val < 256) {
			shortopts[n++] = (char)options[i].opt.val;
			if (options[i].opt.has_arg == required_argument)
				shortopts[n++] = ':';
		}
	}
	shortopts[n] = '\0';

	*cfg = (struct config){ .mode = MODE_RESPOND, .batch = 64, .frames = 8192, .frame_size = 2048,
				.need_wakeup = true, .src_port = 9000, .dst_port = 9, .udp_port = 9, .pkt_size = 64,
				.wait = WAIT_POLL };

	opterr = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shortopts, longopts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'm': {
			size_t i;
			for (i = 0; i < 4 && strcmp(optarg, mode_names[i]); i++)
				;
			if (i == 4)
				usage_error("不認得的模式「%s」:可用 respond、rxdrop、txonly、l2fwd", optarg);
			cfg->mode = (enum mode)i;
			break;
		}
		case 'S':
		case 'N':
			if (cfg->attach)
				usage_error("%s", "-S 與 -N 只能擇一");
			cfg->attach = c == 'S' ? XDP_MODE_SKB : XDP_MODE_NATIVE;
			break;
		case 'c':
		case 'z':
			if (cfg->copy)
				usage_error("%s", "-c 與 -z 只能擇一");
			cfg->copy = c == 'c' ? XDP_COPY : XDP_ZEROCOPY;
			break;
		case 'B':
		case OPT_SPIN:
			if (cfg->wait != WAIT_POLL)
				usage_error("%s", "-B 與 --spin 只能擇一");
			cfg->wait = c == 'B' ? WAIT_BUSY_POLL : WAIT_SPIN;
			break;
		case OPT_NO_WAKEUP:
			cfg->need_wakeup = false;
			break;
		case 'b':
			cfg->batch = (unsigned)parse_num(optarg, "--batch", 1, MAX_BATCH);
			break;
		case OPT_CPU:
			parse_cpus(optarg, cfg);
			break;
		case OPT_FRAMES:
			cfg->frames = (unsigned)parse_num(optarg, "--frames", 64, 65536);
			if (cfg->frames & (cfg->frames - 1))
				usage_error("--frames 必須是 2 的次方,得到「%s」", optarg);
			break;
		case OPT_FRAME_SIZE:
			cfg->frame_size = (unsigned)parse_num(optarg, "--frame-size", 2048, 4096);
			if (cfg->frame_size != 2048 && cfg->frame_size != 4096)
				usage_error("--frame-size 只能是 2048 或 4096,得到「%s」", optarg);
			break;
		case OPT_DURATION: {
			char *end;
			cfg->duration = strtod(optarg, &end);
			if (end == optarg || *end || !(cfg->duration > 0) || cfg->duration > 86400)
				usage_error("--duration 必須是 0 到 86400 的秒數,得到「%s」", optarg);
			break;
		}
		case 'q':
			cfg->quiet = true;
			break;
		case OPT_UDP_PORT:
			cfg->udp_port = (uint16_t)parse_num(optarg, "--udp-port", 1, 65535);
			break;
		case OPT_ALL:
			cfg->take_all = true;
			break;
		case OPT_IP:
			parse_ip(optarg, &cfg->ip, "--ip");
			cfg->ip_set = true;
			break;
		case OPT_SRC_MAC:
			parse_mac(optarg, cfg->src_mac, "--src-mac");
			cfg->src_mac_set = true;
			break;
		case OPT_DST_MAC:
			parse_mac(optarg, cfg->dst_mac, "--dst-mac");
			cfg->dst_mac_set = true;
			break;
		case OPT_SRC_IP:
			parse_ip(optarg, &cfg->src_ip, "--src-ip");
			cfg->src_ip_set = true;
			break;
		case OPT_DST_IP:
			parse_ip(optarg, &cfg->dst_ip, "--dst-ip");
			cfg->dst_ip_set = true;
			break;
		case OPT_SRC_PORT:
			cfg->src_port = (uint16_t)parse_num(optarg, "--src-port", 1, 65535);
			break;
		case OPT_DST_PORT:
			cfg->dst_port = (uint16_t)parse_num(optarg, "--dst-port", 1, 65535);
			break;
		case OPT_SIZE:
			cfg->pkt_size = (unsigned)parse_num(optarg, "--size", 42, 3840);
			break;
		case OPT_RATE:
			cfg->rate = parse_num(optarg, "--rate", 0, 100000000);
			break;
		case OPT_COUNT:
			cfg->count = parse_num(optarg, "--count", 1, UINT64_MAX / 2);
			break;
		case OPT_BYPASS_FW:
		case OPT_RESPECT_FW:
			if (cfg->firewall != FW_REFUSE)
				usage_error("%s", "--bypass-firewall 與 --respect-firewall 只能擇一");
			cfg->firewall = c == OPT_BYPASS_FW ? FW_BYPASS : FW_RESPECT;
			break;
		case OPT_UNLOAD:
			cfg->unload_id = (uint32_t)parse_num(optarg, "--unload", 1, UINT32_MAX);
			break;
		case 'h':
			usage(argv[0]);
			exit(0);
		case ':':
			usage_error("選項 %s 需要參數", argv[optind - 1]);
			break;
		default:
			usage_error("不認得的選項「%s」", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("%s", "需要介面名稱,例如:sudo ./af_xdp_socket eth0 0");
	cfg->ifname = argv[optind++];
	if (!*cfg->ifname || strlen(cfg->ifname) >= IFNAMSIZ)
		usage_error("介面名稱「%s」不合法(1 到 15 個字元)", cfg->ifname);
	if (optind < argc) {
		const char *qs = argv[optind++];
		if (!strcmp(qs, "all"))
			cfg->q_all = true;
		else
			parse_range(qs, "佇列", MAX_QUEUES - 1, &cfg->q_first, &cfg->q_last);
	}
	if (optind < argc)
		usage_error("多餘的參數「%s」", argv[optind]);
	if (cfg->unload_id && argc > 4)
		usage_error("%s", "--unload 的用法:af_xdp_socket --unload id 介面(不接其他選項)");
	if (cfg->mode == MODE_TXONLY && !cfg->dst_ip_set)
		usage_error("%s", "txonly 模式需要 --dst-ip(只送到你自己的測試主機)");
	if (cfg->take_all && cfg->mode != MODE_RXDROP && cfg->mode != MODE_L2FWD)
		usage_error("%s", "--all 只用於 rxdrop 與 l2fwd(respond 只拿 ARP 與 ping,txonly 不收)");
	if (cfg->pkt_size > cfg->frame_size - XDP_PACKET_HEADROOM)
		usage_error("%s", "--size 超過 frame 可容納的大小(frame 大小減 256 位元組 headroom)");
}

/* 卸下殘留程式的指令:以 id 指名(netns:介面所在的命名空間,NULL = 目前這個) */
static const char *unload_cmd(const struct ctx *c, uint32_t id, const char *netns, char *buf, size_t len)
{
	snprintf(buf, len, "sudo %s%s%s%s --unload %u %s", netns ? "ip netns exec " : "", netns ? netns : "",
		 netns ? " " : "", c->argv0, id, c->cfg.ifname);
	return buf;
}

static int count_rx_queues(const char *ifname)
{
	char path[128];
	int n = 0;

	for (;; n++) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/queues/rx-%d", ifname, n);
		if (access(path, F_OK))
			return n ? n : -1;
	}
}

static void iface_info(struct ctx *c)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->cfg.ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(c->if_mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(fd, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
		c->if_mtu = (unsigned)ifr.ifr_mtu;
	if (!c->cfg.ip_set || !c->cfg.src_ip_set) {
		memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
		ifr.ifr_addr.sa_family = AF_INET;
		if (ioctl(fd, SIOCGIFADDR, &ifr) == 0) {
			struct in_addr a = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
			if (!c->cfg.ip_set) {
				c->cfg.ip = a;
				c->cfg.ip_set = c->ip_from_iface = true;
				if (ioctl(fd, SIOCGIFNETMASK, &ifr) == 0)
					c->ip_mask = ((struct sockaddr_in *)&ifr.ifr_netmask)->sin_addr.s_addr;
			}
			if (!c->cfg.src_ip_set)
				c->cfg.src_ip = a;
		}
	}
	close(fd);
	if (!c->cfg.src_mac_set)
		memcpy(c->cfg.src_mac, c->if_mac, 6);
}

/* 核心 ARP 表(/proc/net/arp)裡,介面上 --dst-ip 的完整項目 */
static bool arp_lookup(const struct ctx *c, uint8_t mac[6])
{
	char line[256], ip[64], hw[64], dev[64];
	unsigned type, flags;
	struct in_addr a;
	bool found = false;
	FILE *f = fopen("/proc/net/arp", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		if (sscanf(line, "%63s %x %x %63s %*s %63s", ip, &type, &flags, hw, dev) == 5 && (flags & ATF_COM) &&
		    !strcmp(dev, c->cfg.ifname) && inet_pton(AF_INET, ip, &a) == 1 && a.s_addr == c->cfg.dst_ip.s_addr)
			found = sscanf(hw, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4],
				       &mac[5]) == 6;
	fclose(f);
	return found;
}

/*
 * txonly 沒給 --dst-mac:用 --dst-ip 在 ARP 表裡的 MAC。不用廣播:全速的廣播會打到網段上每一台主機的 CPU。
 * 表裡還沒有時,以一般 UDP socket 送一個空的 datagram 到 --dst-ip:--dst-port,讓核心去解析(最多等 1 秒)。
 */
static int resolve_dst_mac(struct ctx *c)
{
	struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons(c->cfg.dst_port), .sin_addr = c->cfg.dst_ip };
	char ip[INET_ADDRSTRLEN];
	int fd;

	if (arp_lookup(c, c->cfg.dst_mac))
		return 0;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		if (!setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, c->cfg.ifname, (socklen_t)strlen(c->cfg.ifname) + 1))
			sendto(fd, "", 0, MSG_DONTWAIT, (struct sockaddr *)&to, sizeof(to));
		close(fd);
	}
	for (int i = 0; i < 20; i++) {
		usleep(50000);
		if (arp_lookup(c, c->cfg.dst_mac))
			return 0;
	}
	inet_ntop(AF_INET, &c->cfg.dst_ip, ip, sizeof(ip));
	fprintf(stderr, "錯誤:1 秒內在介面 %s 的 ARP 表找不到 %s 的 MAC(主機不在線上或不在同一個網段?):請以 --dst-mac 指定\n",
		c->cfg.ifname, ip);
	return -1;
}

/* ---- 主機設定:sysctl、NOARP、netfilter(每秒重讀,見 apply_host_policy) ---- */

/* /proc/sys 的一個整數;讀不到時回傳 dflt */
static int sysctl_int(const char *fmt, const char *ifname, int dflt)
{
	char path[160];
	int v = dflt;
	FILE *f;

	snprintf(path, sizeof(path), fmt, ifname);
	if ((f = fopen(path, "r"))) {
		if (fscanf(f, "%d", &v) != 1)
			v = dflt;
		fclose(f);
	}
	return v;
}

/* nftables 以 netlink 傾印(NLM_F_DUMP)的回覆:每個訊息是 nfgenmsg 加一串屬性 */
struct nft_chain {
	uint8_t family;
	char table[64], name[64];
	bool drop;	/* policy drop */
	unsigned rules; /* 這條鏈裡的規則數 */
};

struct fw_scan {
	struct nft_chain ch[16]; /* 看得到進來的 ARP / IPv4 的 filter 基底鏈 */
	unsigned n;
};

/* 一個屬性的字串值(截斷到 len) */
static void nla_str(const struct nlattr *a, char *out, size_t len)
{
	size_t n = a->nla_len - NLA_HDRLEN;

	snprintf(out, len, "%.*s", (int)(n < len ? n : len - 1), (const char *)a + NLA_HDRLEN);
}

static uint32_t nla_u32be(const struct nlattr *a)
{
	uint32_t v;

	memcpy(&v, (const char *)a + NLA_HDRLEN, 4);
	return ntohl(v);
}

#define NLA_FOR_EACH(a, start, len)                                                                      \
	for (const struct nlattr *a = (const void *)(start); (char *)a + NLA_HDRLEN <= (char *)(start) + (len) && \
							     a->nla_len >= NLA_HDRLEN &&                          \
							     (char *)a + a->nla_len <= (char *)(start) + (len);  \
	     a = (const void *)((const char *)a + NLA_ALIGN(a->nla_len)))

/* 這個基底鏈會看到進到本機的 ARP 或 IPv4 嗎?(XDP 拿走的封包正是不經過這些 hook 的) */
static bool nft_input_hook(uint8_t family, uint32_t hook)
{
	switch (family) {
	case NFPROTO_IPV4:
	case NFPROTO_INET:
		return hook == NF_INET_PRE_ROUTING || hook == NF_INET_LOCAL_IN || hook == NF_INET_INGRESS;
	case NFPROTO_ARP:
		return hook == NF_ARP_IN;
	case NFPROTO_NETDEV:
		return hook == NF_NETDEV_INGRESS;
	}
	return false;
}

/* 一個傾印訊息:GETCHAIN 記下相關的基底鏈,GETRULE 把規則算進它所屬的鏈 */
static void nft_one(uint16_t msg, const struct nlmsghdr *h, struct fw_scan *s)
{
	const struct nfgenmsg *g = NLMSG_DATA(h);
	const void *attrs = (const char *)g + NLMSG_ALIGN(sizeof(*g));
	size_t len = h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*g)));
	char table[64] = "", name[64] = "", type[16] = "";
	uint32_t hook = UINT32_MAX, policy = NF_ACCEPT;

	NLA_FOR_EACH(a, attrs, len)
	{
		uint16_t t = a->nla_type & NLA_TYPE_MASK;
		if (t == (msg == NFT_MSG_GETCHAIN ? NFTA_CHAIN_TABLE : NFTA_RULE_TABLE))
			nla_str(a, table, sizeof(table));
		else if (t == (msg == NFT_MSG_GETCHAIN ? NFTA_CHAIN_NAME : NFTA_RULE_CHAIN))
			nla_str(a, name, sizeof(name));
		else if (msg == NFT_MSG_GETCHAIN && t == NFTA_CHAIN_TYPE)
			nla_str(a, type, sizeof(type));
		else if (msg == NFT_MSG_GETCHAIN && t == NFTA_CHAIN_POLICY)
			policy = nla_u32be(a);
		else if (msg == NFT_MSG_GETCHAIN && t == NFTA_CHAIN_HOOK)
			NLA_FOR_EACH(hk, (const char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN)
			if ((hk->nla_type & NLA_TYPE_MASK) == NFTA_HOOK_HOOKNUM)
				hook = nla_u32be(hk);
	}
	if (msg == NFT_MSG_GETCHAIN) {
		/* nat 與 route 類型的鏈不過濾封包;只看 filter 類型 */
		if (strcmp(type, "filter") || !nft_input_hook(g->nfgen_family, hook) || s->n >= 16)
			return;
		struct nft_chain *ch = &s->ch[s->n++];
		*ch = (struct nft_chain){ .family = g->nfgen_family, .drop = policy == NF_DROP };
		snprintf(ch->table, sizeof(ch->table), "%s", table);
		snprintf(ch->name, sizeof(ch->name), "%s", name);
		return;
	}
	for (unsigned i = 0; i < s->n; i++)
		if (s->ch[i].family == g->nfgen_family && !strcmp(s->ch[i].table, table) && !strcmp(s->ch[i].name, name))
			s->ch[i].rules++;
}

/*
 * 送一個 netlink 請求,把每個回覆訊息交給 one(不是傾印的請求只有一個回覆)。
 * 主執行緒每秒呼叫:每次等待最多 100 ms(核心不會不回答,但心跳不能被卡住,見 heartbeat)。
 */
static int nl_talk(int fd, const struct nlmsghdr *req, void (*one)(const struct nlmsghdr *h, void *arg), void *arg)
{
	char buf[65536]; /* 一次 recv 最多一個 64 KiB 的傾印片段(主執行緒的堆疊,只在每秒檢查時用) */
	bool dump = req->nlmsg_flags & NLM_F_DUMP;

	if (send(fd, req, req->nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, 100) <= 0)
			return -ETIMEDOUT;
		ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0)
			return -errno;
		for (struct nlmsghdr *h = (void *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR)
				return ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			one(h, arg);
			if (!dump)
				return 0;
		}
	}
}

struct nft_reply {
	uint16_t msg;
	struct fw_scan *s;
	uint32_t *gen;
};

static void nft_reply_one(const struct nlmsghdr *h, void *arg)
{
	struct nft_reply *r = arg;

	if (r->msg != NFT_MSG_GETGEN) {
		nft_one(r->msg, h, r->s);
		return;
	}
	const struct nfgenmsg *g = NLMSG_DATA(h);
	NLA_FOR_EACH(a, (const char *)g + NLMSG_ALIGN(sizeof(*g)), h->nlmsg_len - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(*g))))
	if ((a->nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID)
		*r->gen = nla_u32be(a);
}

/* 一個 nftables 請求(dump = 傾印全部):GETCHAIN / GETRULE 交給 nft_one,GETGEN 的 generation 放在 *gen */
static int nft_request(int fd, uint16_t msg, bool dump, struct fw_scan *s, uint32_t *gen)
{
	struct {
		struct nlmsghdr nh;
		struct nfgenmsg g;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = (uint16_t)(NFNL_SUBSYS_NFTABLES << 8 | msg),
			.nlmsg_flags = (uint16_t)(NLM_F_REQUEST | (dump ? NLM_F_DUMP : 0)), .nlmsg_seq = msg },
		.g = { .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0 },
	};
	struct nft_reply r = { msg, s, gen };

	return nl_talk(fd, &req.nh, nft_reply_one, &r);
}

static const char *nfproto_name(uint8_t f)
{
	return f == NFPROTO_INET ? "inet" : f == NFPROTO_ARP ? "arp" : f == NFPROTO_NETDEV ? "netdev" : "ip";
}

/* nftables(也包含 iptables-nft 建的規則):規則集沒變(generation 相同)就沿用上次的結果 */
static void scan_nftables(struct host_policy *p, char *out, size_t len)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	struct fw_scan s = { .n = 0 };
	uint32_t gen = 0;
	size_t o = 0;

	if (fd < 0 || nft_request(fd, NFT_MSG_GETGEN, false, NULL, &gen) || (p->nft_gen_known && gen == p->nft_gen)) {
		if (fd >= 0)
			close(fd);
		snprintf(out, len, "%s", p->nft_fw); /* 沒變(或讀不到):沿用 */
		return;
	}
	if (!nft_request(fd, NFT_MSG_GETCHAIN, true, &s, NULL) && (!s.n || !nft_request(fd, NFT_MSG_GETRULE, true, &s, NULL))) {
		p->nft_gen = gen;
		p->nft_gen_known = true;
	}
	close(fd);
	out[0] = '\0';
	for (unsigned i = 0; i < s.n; i++)
		if (s.ch[i].rules || s.ch[i].drop)
			o += (size_t)snprintf(out + o, o < len ? len - o : 0, "%snft %s %s %s(%u 條規則%s)", o ? "、" : "",
					      nfproto_name(s.ch[i].family), s.ch[i].table, s.ch[i].name, s.ch[i].rules,
					      s.ch[i].drop ? ",policy drop" : "");
	snprintf(p->nft_fw, sizeof(p->nft_fw), "%s", out);
}

/*
 * 舊式 iptables / arptables(x_tables,iptables-legacy):/proc/net/ip_tables_names 列出這個命名空間用過的表;
 * 一個 hook 的進入點(hook_entry)不等於它的預設動作(underflow)就表示那條鏈有規則。
 * (只有預設動作 DROP、沒有規則的舊式鏈要讀整個表才看得出來,這裡不讀。)
 */
static void scan_legacy(char *out, size_t len)
{
	static const struct {
		const char *names, *tool;
		int opt;
	} kinds[] = { { "/proc/net/ip_tables_names", "iptables-legacy", IPT_SO_GET_INFO },
		      { "/proc/net/arp_tables_names", "arptables-legacy", ARPT_SO_GET_INFO } };
	size_t o = strlen(out);
	int fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW);

	for (size_t k = 0; fd >= 0 && k < 2; k++) {
		char table[XT_TABLE_MAXNAMELEN];
		FILE *f = fopen(kinds[k].names, "r");
		while (f && fscanf(f, "%31s", table) == 1) {
			/* ip 與 arp 的 getinfo 前面的欄位排列相同,只有 hook 數不同 */
			union {
				struct ipt_getinfo ip;
				struct arpt_getinfo arp;
			} gi = { 0 };
			socklen_t gl = k ? sizeof(gi.arp) : sizeof(gi.ip);
			snprintf(gi.ip.name, sizeof(gi.ip.name), "%s", table);
			if (!strcmp(table, "nat") || getsockopt(fd, IPPROTO_IP, kinds[k].opt, &gi, &gl))
				continue;
			for (unsigned h = 0; h < (k ? 1u : 2u); h++) { /* ip:PREROUTING、INPUT;arp:INPUT */
				unsigned entry = k ? gi.arp.hook_entry[h] : gi.ip.hook_entry[h];
				unsigned under = k ? gi.arp.underflow[h] : gi.ip.underflow[h];
				if ((gi.ip.valid_hooks & (1u << h)) && entry != under)
					o += (size_t)snprintf(out + o, o < len ? len - o : 0, "%s%s -t %s %s", o ? "、" : "",
							      kinds[k].tool, table, h == 0 && !k ? "PREROUTING" : "INPUT");
			}
		}
		if (f)
			fclose(f);
	}
	if (fd >= 0)
		close(fd);
}

/* 路由表的一筆(RTM_NEWROUTE):它的前綴與「回覆從我們的介面出去嗎」 */
struct route_scan {
	int ifindex;
	unsigned n;
	bool over;
	struct route_ent e[ROUTE_MAX];
};

static void route_one(const struct nlmsghdr *h, void *arg)
{
	struct route_scan *s = arg;
	const struct rtmsg *r = NLMSG_DATA(h);
	struct route_ent e = { .k = { .prefixlen = r->rtm_dst_len } };
	uint32_t table = r->rtm_table, oif = 0;
	bool multipath = false, all_ours = true;

	if (h->nlmsg_type != RTM_NEWROUTE || r->rtm_family != AF_INET)
		return;
	NLA_FOR_EACH(a, RTM_RTA(r), RTM_PAYLOAD(h))
	{
		const void *v = (const char *)a + NLA_HDRLEN;
		int len = a->nla_len - NLA_HDRLEN;
		uint16_t t = a->nla_type & NLA_TYPE_MASK;
		if (len < 4)
			continue;
		if (t == RTA_TABLE)
			memcpy(&table, v, 4);
		else if (t == RTA_DST)
			memcpy(&e.k.addr, v, 4);
		else if (t == RTA_OIF)
			memcpy(&oif, v, 4);
		else if (t == RTA_MULTIPATH) { /* 多路徑:每一條都從我們的介面出去才算 */
			multipath = true;
			for (const struct rtnexthop *nh = v; RTNH_OK(nh, len);
			     len -= (int)RTNH_ALIGN(nh->rtnh_len), nh = RTNH_NEXT(nh))
				all_ours &= nh->rtnh_ifindex == s->ifindex;
		}
	}
	/* 預設的 ip rule 依序查 local、main、default 三個表;其他表只有 ip rule 會用到,這裡不模擬(見 README) */
	if (table != RT_TABLE_MAIN && table != RT_TABLE_LOCAL && table != RT_TABLE_DEFAULT)
		return;
	/* 只有主路由表裡、從我們的介面出去的 unicast 路由算「回得去」;local 表(本機與廣播位址當來源是偽造的)、
	 * default 表、黑洞 / unreachable / prohibit 都是 0:交給核心決定 */
	e.back = table == RT_TABLE_MAIN && r->rtm_type == RTN_UNICAST &&
		 (multipath ? all_ours : oif == (uint32_t)s->ifindex);
	for (unsigned i = 0; i < s->n; i++)
		if (!memcmp(&s->e[i].k, &e.k, sizeof(e.k))) { /* 同一個前綴在幾個表裡:有一個不是就不是 */
			s->e[i].back &= e.back;
			return;
		}
	if (s->n == ROUTE_MAX)
		s->over = true;
	else
		s->e[s->n++] = e;
}

static int route_cmp(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct route_key));
}

/*
 * respond:從路由表(netlink 傾印)算出每個前綴的回程是不是從我們的介面出去,有變才寫進 route_back map
 * (先寫新的、再刪掉不在了的:XDP 程式不會看到空的 map)。讀不到路由表時沿用上次的結果。
 * 回傳寫 map 失敗的 -errno。
 */
static int sync_routes(struct ctx *c, struct host_policy *p)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg r;
	} req = {
		.nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETROUTE, .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP },
		.r = { .rtm_family = AF_INET },
	};
	struct route_scan *s = calloc(1, sizeof(*s));
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE), err = 0;

	if (s && fd >= 0) {
		s->ifindex = c->ifindex;
		if (nl_talk(fd, &req.nh, route_one, s))
			s->n = UINT32_MAX; /* 讀不到:沿用 */
	}
	if (fd >= 0)
		close(fd);
	if (!s || s->n == UINT32_MAX || (p->routes_over = s->over)) {
		free(s);
		return 0;
	}
	qsort(s->e, s->n, sizeof(s->e[0]), route_cmp);
	if (s->n != c->nroutes || memcmp(s->e, c->routes, s->n * sizeof(s->e[0]))) {
		for (unsigned i = 0; i < s->n && !err; i++)
			if (bpf_map_update_elem(c->route_map_fd, &s->e[i].k, &(uint8_t){ (uint8_t)s->e[i].back }, BPF_ANY))
				err = -errno;
		for (unsigned i = 0; i < c->nroutes && !err; i++)
			if (!bsearch(&c->routes[i], s->e, s->n, sizeof(s->e[0]), route_cmp))
				bpf_map_delete_elem(c->route_map_fd, &c->routes[i].k);
		memcpy(c->routes, s->e, s->n * sizeof(s->e[0]));
		c->nroutes = s->n;
	}
	free(s);
	return err;
}

static void read_host_policy(struct ctx *c, struct host_policy *p)
{
	const char *ifn = c->cfg.ifname;
	struct ifreq ifr = { 0 };
	char fw[sizeof(p->fw)];
	int fd;

	p->echo_ignore_all = sysctl_int("/proc/sys/net/ipv4/icmp_echo_ignore_all", ifn, 0);
	p->ratemask = sysctl_int("/proc/sys/net/ipv4/icmp_ratemask", ifn, 0x1818);
	int ai_all = sysctl_int("/proc/sys/net/ipv4/conf/all/arp_ignore", ifn, 0);
	int ai_dev = sysctl_int("/proc/sys/net/ipv4/conf/%s/arp_ignore", ifn, 0);
	p->arp_ignore = ai_all > ai_dev ? ai_all : ai_dev;
	int rp_all = sysctl_int("/proc/sys/net/ipv4/conf/all/rp_filter", ifn, 0);
	int rp_dev = sysctl_int("/proc/sys/net/ipv4/conf/%s/rp_filter", ifn, 0);
	p->rp_filter = rp_all > rp_dev ? rp_all : rp_dev;
	p->arp_filter = sysctl_int("/proc/sys/net/ipv4/conf/all/arp_filter", ifn, 0) ||
			sysctl_int("/proc/sys/net/ipv4/conf/%s/arp_filter", ifn, 0);
	p->ip_on_iface = c->ip_from_iface || iface_has_ip(c);
	p->noarp = false;
	if ((fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0)) >= 0) {
		snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifn);
		p->noarp = !ioctl(fd, SIOCGIFFLAGS, &ifr) && (ifr.ifr_flags & IFF_NOARP);
		close(fd);
	}
	scan_nftables(p, fw, sizeof(fw));
	scan_legacy(fw, sizeof(fw));
	snprintf(p->fw, sizeof(p->fw), "%s", fw);
}

/* netfilter 有會看到我們拿走的封包的規則時:預設不啟動;--bypass-firewall 照拿並說一行;
 * --respect-firewall 交給核心(apply_host_policy 會說)。rxdrop 不回答任何東西,只說一行。 */
static int firewall_gate(struct ctx *c)
{
	read_host_policy(c, &c->pol);
	if (!c->pol.fw[0])
		return 0;
	char what[48];
	if (c->cfg.mode == MODE_RESPOND)
		snprintf(what, sizeof(what), " ARP 與 ping ");
	else if (c->cfg.take_all)
		snprintf(what, sizeof(what), "全部封包");
	else
		snprintf(what, sizeof(what), "送到 UDP %u 埠的封包", c->cfg.udp_port);
	if (c->cfg.mode == MODE_RXDROP || c->cfg.firewall == FW_BYPASS) {
		printf("注意:XDP 拿走的%s不經過 netfilter,這些規則對它們無效:%s%s\n", what, c->pol.fw,
		       c->cfg.mode == MODE_RXDROP ? "(rxdrop 只計數丟棄,不回答)" : "(--bypass-firewall)");
		return 0;
	}
	if (c->cfg.firewall == FW_RESPECT)
		return 0;
	fprintf(stderr, "錯誤:netfilter 有規則(%s),XDP 拿走的%s不會經過它們:要照拿請加 --bypass-firewall,"
		"要由核心照防火牆回答請加 --respect-firewall\n", c->pol.fw, what);
	return -EPERM;
}

/* libbpf/libxdp 的訊息:預設只顯示警告以上;AF_XDP_DEBUG=1 顯示全部 */
static int lib_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN && !getenv("AF_XDP_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	/* 我們只用 libxdp 的 xsk 函式(不讓它載入程式):只顯示警告以上 */
	if (level != LIBXDP_WARN && !getenv("AF_XDP_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* total 平均分成 n 份的第 i 份(前 total % n 份多 1) */
static uint64_t share(uint64_t total, unsigned n, unsigned i)
{
	return total / n + (i < total % n);
}

/* 環境與參數檢查,把設定轉成佇列清單;失敗時印一行錯誤並回傳 -1 */
static int prepare(struct ctx *c)
{
	struct config *cfg = &c->cfg;
	cpu_set_t allowed;
	int nq_if;

	/* --cpu 的每顆都要是這個行程能用的 CPU:否則要等 XDP 程式掛上、執行緒啟動後才失敗 */
	if (cfg->ncpus && !sched_getaffinity(0, sizeof(allowed), &allowed))
		for (unsigned i = 0; i < cfg->ncpus; i++)
			if (cfg->cpus[i] >= CPU_SETSIZE || !CPU_ISSET(cfg->cpus[i], &allowed)) {
				char n[16];
				snprintf(n, sizeof(n), "%d", cfg->cpus[i]);
				usage_error("--cpu:CPU %s 不存在或這個程式不能用(nproc、taskset -p 看可用的 CPU)", n);
			}
	if (geteuid() != 0) {
		fprintf(stderr, "錯誤:AF_XDP 需要 root 權限(載入 XDP 程式、建立 XSK):sudo ./af_xdp_socket ...\n");
		return -1;
	}
	c->ifindex = (int)if_nametoindex(cfg->ifname);
	if (!c->ifindex) {
		fprintf(stderr, "錯誤:沒有名為「%s」的網路介面(用 ip link 列出可用介面)\n", cfg->ifname);
		return -1;
	}
	nq_if = count_rx_queues(cfg->ifname);
	c->if_queues = nq_if > 0 ? (unsigned)nq_if : 1;
	if (cfg->q_all) {
		cfg->q_first = 0;
		cfg->q_last = c->if_queues - 1;
	}
	if (cfg->q_last >= c->if_queues) {
		fprintf(stderr, "錯誤:佇列 %u 超出範圍:介面 %s 只有 %u 個 RX 佇列(ethtool -l %s)\n", cfg->q_last,
			cfg->ifname, c->if_queues, cfg->ifname);
		return -1;
	}
	c->nq = cfg->q_last - cfg->q_first + 1;
	if ((uint64_t)c->nq * cfg->frames * cfg->frame_size > (4ull << 30)) {
		fprintf(stderr, "錯誤:UMEM 會超過 4 GiB(%u 個佇列 × %u frame × %u 位元組):請用較小的 --frames\n", c->nq,
			cfg->frames, cfg->frame_size);
		return -1;
	}
	iface_info(c);
	if (cfg->mode == MODE_RESPOND && !cfg->ip_set) {
		fprintf(stderr, "錯誤:介面 %s 沒有 IPv4 位址,請以 --ip 指定要回答的位址\n", cfg->ifname);
		return -1;
	}
	if (cfg->mode == MODE_TXONLY && c->if_mtu && cfg->pkt_size > c->if_mtu + ETH_HLEN) {
		fprintf(stderr, "錯誤:--size %u 超過介面 %s 能送的 frame(MTU %u + 14 位元組標頭),驅動程式會全部丟掉:"
			"改小 --size,或 sudo ip link set dev %s mtu %u\n",
			cfg->pkt_size, cfg->ifname, c->if_mtu, cfg->ifname, cfg->pkt_size - ETH_HLEN);
		return -1;
	}
	if (cfg->mode == MODE_TXONLY && !cfg->dst_mac_set && resolve_dst_mac(c))
		return -1;
	/* 舊核心以 RLIMIT_MEMLOCK 計算 UMEM 與 map(新核心用 memcg):拉高以免 ENOBUFS / EPERM */
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	setrlimit(RLIMIT_MEMLOCK, &rl);
	c->ncpus_possible = libbpf_num_possible_cpus();
	c->xsks_map_fd = c->stats_map_fd = c->cfg_map_fd = c->alive_map_fd = c->route_map_fd = c->prog_fd = c->link_fd = -1;
	if (getenv("AF_XDP_NETLINK")) /* 模擬沒有 bpf_link 的舊核心(測試 netlink 掛載那條路) */
		snprintf(c->link_why, sizeof(c->link_why), "AF_XDP_NETLINK 要求不用 bpf_link");

	c->umem_size = (size_t)c->nq * cfg->frames * cfg->frame_size;
	c->umem_area = mmap(NULL, c->umem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c->q = calloc(c->nq, sizeof(*c->q));
	if (c->umem_area == MAP_FAILED || !c->q) {
		if (c->umem_area == MAP_FAILED)
			c->umem_area = NULL;
		fprintf(stderr, "錯誤:無法配置 %zu 位元組的 UMEM:%s\n", c->umem_size, strerror(errno));
		return -1;
	}
	for (unsigned i = 0; i < c->nq; i++) {
		struct xsk_queue *q = &c->q[i];
		q->c = c;
		q->id = cfg->q_first + i;
		q->cpu = cfg->ncpus ? cfg->cpus[i % cfg->ncpus] : -1;
		q->fd = -1;
		if (cfg->mode == MODE_TXONLY) {
			q->free_frames = calloc(cfg->frames, sizeof(uint64_t));
			if (!q->free_frames) {
				fprintf(stderr, "錯誤:記憶體不足\n");
				return -1;
			}
			/* 數量與速率平均分給送封包的佇列(--rate 小於佇列數時只用前 rate 個,每個 1 pps);
			 * 分到 0 個的佇列什麼都不送,一開始就算完成 */
			unsigned senders = cfg->rate && cfg->rate < c->nq ? (unsigned)cfg->rate : c->nq;
			q->tx_goal = i >= senders ? 0 : cfg->count ? share(cfg->count, senders, i) : UINT64_MAX;
			q->tx_rate = i >= senders ? 0 : share(cfg->rate, senders, i);
		}
	}
	return 0;
}

/* ======================================================================
 * 8. main
 * ====================================================================== */
int main(int argc, char **argv)
{
	static unsigned (*const engines[])(struct xsk_queue *) = {
		[MODE_RESPOND] = rx_respond, [MODE_RXDROP] = rx_drop, [MODE_TXONLY] = tx_only, [MODE_L2FWD] = rx_l2fwd,
	};
	struct ctx *c = calloc(1, sizeof(*c));
	sigset_t sigs;
	int rc = 1;

	if (!c) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		return 1;
	}
	parse_args(argc, argv, &c->cfg);
	libbpf_set_print(lib_print);
	libxdp_set_print(xdp_print);

	/* 結束訊號在所有執行緒都擋住,由主執行緒的 sigtimedwait 同步接收(見 supervise) */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	/* nohup 交給我們「忽略 SIGHUP」:照辦。被擋住的訊號就算原本被忽略也會被 sigtimedwait 收下,所以不加進來 */
	struct sigaction inherited;
	if (sigaction(SIGHUP, NULL, &inherited) || inherited.sa_handler != SIG_IGN)
		sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGQUIT);
	sigaddset(&sigs, SIGUSR1); /* 佇列執行緒遇到致命錯誤時叫醒主執行緒 */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN); /* 輸出被關掉(例如 | head)時也要走正常清理,卸下 XDP 程式 */
	c->main_thread = pthread_self();
	c->argv0 = argv[0];
	c->xsks_map_fd = c->stats_map_fd = c->cfg_map_fd = c->alive_map_fd = c->route_map_fd = c->prog_fd = c->link_fd = -1;

	if (c->cfg.unload_id) {
		rc = unload_stale(c);
		goto out;
	}
	if (prepare(c))
		goto out;
	printf("AF_XDP %s 模式:介面 %s(ifindex %d,%u 個 RX 佇列)佇列 %u-%u,UMEM %u 個佇列 × %u frame × %u 位元組"
	       "(%.1f MiB)\n",
	       mode_names[c->cfg.mode], c->cfg.ifname, c->ifindex, c->if_queues, c->cfg.q_first, c->cfg.q_last, c->nq,
	       c->cfg.frames, c->cfg.frame_size, (double)c->umem_size / (1 << 20));
	if (xsk_setup(c))
		goto out;
	if (c->cfg.wait == WAIT_BUSY_POLL)
		busy_poll_setup(c);

	char ip[INET_ADDRSTRLEN], ip2[INET_ADDRSTRLEN];
	switch (c->cfg.mode) {
	case MODE_RESPOND:
		inet_ntop(AF_INET, &c->cfg.ip, ip, sizeof(ip));
		printf("回答對 %s 的 ARP 請求與 ping(MAC %02x:%02x:%02x:%02x:%02x:%02x);其他封包照常交給核心\n", ip,
		       c->if_mac[0], c->if_mac[1], c->if_mac[2], c->if_mac[3], c->if_mac[4], c->if_mac[5]);
		break;
	case MODE_RXDROP:
	case MODE_L2FWD:
		if (c->cfg.take_all)
			printf("警告:--all 拿走佇列 %u-%u 上的全部封包,核心在這些佇列上什麼都收不到(SSH 也是)\n",
			       c->cfg.q_first, c->cfg.q_last);
		else
			printf("拿走送到 UDP %u 埠的封包(%s);其他封包照常交給核心\n", c->cfg.udp_port,
			       c->cfg.mode == MODE_RXDROP ? "計數後丟棄" : "交換 MAC 後送回");
		break;
	case MODE_TXONLY:
		inet_ntop(AF_INET, &c->cfg.src_ip, ip, sizeof(ip));
		inet_ntop(AF_INET, &c->cfg.dst_ip, ip2, sizeof(ip2));
		printf("產生 UDP %s:%u -> %s:%u(MAC %02x:%02x:%02x:%02x:%02x:%02x),%u 位元組,%s\n", ip, c->cfg.src_port,
		       ip2, c->cfg.dst_port, c->cfg.dst_mac[0], c->cfg.dst_mac[1], c->cfg.dst_mac[2], c->cfg.dst_mac[3],
		       c->cfg.dst_mac[4], c->cfg.dst_mac[5], c->cfg.pkt_size, c->cfg.rate ? "限速" : "全速");
		build_template(c);
		prefill_tx_frames(c);
		break;
	}
	fflush(stdout);

	c->engine = engines[c->cfg.mode];
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	for (unsigned i = 0; i < c->nq; i++) {
		int err = pthread_create(&c->q[i].thread, NULL, queue_thread, &c->q[i]);
		if (err) {
			fprintf(stderr, "錯誤:無法建立佇列 %u 的執行緒:%s\n", c->q[i].id, strerror(err));
			goto out;
		}
		c->q[i].started = true;
	}
	rc = supervise(c, &sigs);
	for (unsigned i = 0; i < c->nq; i++) {
		pthread_join(c->q[i].thread, NULL);
		c->q[i].started = false;
	}
	print_summary(c);
	if (rc)
		fprintf(stderr, "錯誤:%s\n", c->fatal_msg); /* 印在總結之後:最後一行就是原因 */
out:
	cleanup(c);
	free(c);
	return rc;
}
#endif /* !__bpf__ */
