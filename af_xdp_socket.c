// SPDX-License-Identifier: MIT
/*
 * af_xdp_socket.c — AF_XDP 示範:在使用者空間直接收送網卡佇列上的封包,只拿自己處理的那些
 *
 * 這個檔案有兩半:
 *   核心半部(#ifdef __bpf__):一個 XDP 程式,Makefile 以 clang -target bpf 編譯,
 *     物件檔嵌進執行檔(.incbin),執行時以 libxdp 掛到介面上。它在驅動程式收到封包時執行,
 *     只把「這個模式要處理的」封包導向(redirect)我們的 AF_XDP socket,其他一律 XDP_PASS
 *     交還核心:SSH、TCP、DNS……照常運作。
 *   使用者半部:UMEM(與核心共享的封包記憶體,切成固定大小的 frame)加上每個佇列四個 ring。
 *
 * 一個 frame 的一生(respond 模式,對方 ping 我們):
 *
 *   網卡 / veth 佇列 q 收到封包
 *        │
 *        ▼  xsk_take()(核心半部,每個封包執行一次)
 *   ┌────────────────────────────────────────────┐
 *   │ ARP 請求或 ICMP echo,目的是我們的 IPv4?     │── 否 ──▶ XDP_PASS:核心照常處理
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
 *   2. 核心半部:XDP 程式與兩個 map    5. 統計(每秒、總結)
 *   3. 使用者半部:載入 XDP 程式、     6. 清理
 *      UMEM 與每個佇列的 socket       7. 選項、說明與環境檢查    8. main
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
 *   - 任何結束方式(Ctrl-C、SIGTERM、SIGHUP、SIGQUIT、錯誤、--duration)都會卸下 XDP 程式;
 *     只有 SIGKILL 做不到,程式啟動時會印出對應掛載模式的卸載指令。在 nohup 之下 SIGHUP 照 nohup 的意思忽略。
 *
 * 需求:root(或 CAP_NET_ADMIN + CAP_BPF)、Linux 5.10+、libxdp 1.2+(xsk API)、libbpf、
 *       建置時需要 clang(編譯 XDP 程式)。
 *
 * 用法:
 *   sudo ./af_xdp_socket eth0 0                      # 回答對 eth0 IPv4 位址的 ping 與 ARP,其他照常
 *   sudo ./af_xdp_socket -m rxdrop veth0 all         # 所有佇列上、送到 UDP 9 埠的封包:計數
 *   sudo ./af_xdp_socket -m txonly --dst-ip 198.18.0.2 --count 1000 veth0
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
 * 1. 兩半共用的定義:使用者空間在載入前寫進 XDP 程式的設定,以及計數器的格式
 * ====================================================================== */
#include <linux/types.h>

enum take_mode {
	TAKE_RESPOND = 1, /* ARP 請求與 ICMP echo,目的是 ipv4 */
	TAKE_UDP = 2,	  /* UDP 目的埠 udp_port(IPv4 與 IPv6) */
	TAKE_ALL = 3,	  /* 佇列上的全部封包 */
};

struct take_config {
	__u32 mode;    /* enum take_mode */
	__be32 ipv4;   /* respond:我們的 IPv4 位址 */
	__u8 mac[6];   /* respond:我們的 MAC(只拿目的是它或廣播的 frame) */
	__be16 port;   /* rxdrop / l2fwd:UDP 目的埠 */
	__u32 max_len; /* 一個 UMEM frame 放得下的最大封包(frame 大小減 headroom);更大的交給核心 */
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

/* const volatile 全域變數放在 .rodata:使用者空間在載入前填值,verifier 把它們當常數,
 * 用不到的模式分支在載入時就被剪掉。 */
const volatile struct take_config take_cfg = { .mode = TAKE_RESPOND, .port = bpf_htons(9) };

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

static __always_inline int same_ipv4(const __u8 *p)
{
	/* 先以 volatile 讀出:透過去掉 volatile 的指標讀 const 變數,編譯器會直接代入初始值 0 */
	__be32 ip = take_cfg.ipv4;
	const __u8 *want = (const __u8 *)&ip;

	return p[0] == want[0] && p[1] == want[1] && p[2] == want[2] && p[3] == want[3];
}

static __always_inline int for_our_mac(const struct ethhdr *eth)
{
	int ours = 1, bcast = 1;

#pragma unroll
	for (int i = 0; i < 6; i++) {
		ours &= eth->h_dest[i] == take_cfg.mac[i];
		bcast &= eth->h_dest[i] == 0xff;
	}
	return ours | bcast;
}

/* respond:對我們 IP 的 ARP 請求,與對我們 IP、沒有分片、沒有 IP 選項的 ICMP echo 請求 */
static __always_inline int take_respond(const struct ethhdr *eth, __be16 proto, void *l3, void *end)
{
	if (!for_our_mac(eth))
		return 0;
	if (proto == bpf_htons(ETH_P_ARP)) {
		struct arp_eth_ipv4 *a = l3;
		if ((void *)(a + 1) > end)
			return 0;
		return a->op == bpf_htons(1) && same_ipv4(a->tip);
	}
	if (proto != bpf_htons(ETH_P_IP))
		return 0;
	struct iphdr *ip = l3;
	/* IP 選項(記錄路由、時間戳、來源路由)交給核心:回覆裡要更新或拒絕,使用者空間只會原樣送回 */
	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl != 5 || ip->protocol != IPPROTO_ICMP)
		return 0;
	if (ip->daddr != take_cfg.ipv4 || (ip->frag_off & bpf_htons(0x3fff)))
		return 0; /* 分片交給核心重組(ping -s 3000 由核心回答) */
	__u8 *icmp_type = (__u8 *)(ip + 1);
	if ((void *)(icmp_type + 1) > end)
		return 0;
	return *icmp_type == 8; /* ICMP_ECHO */
}

/* rxdrop / l2fwd:UDP 目的埠(IPv4 沒有分片:片段全部交給核心重組;IPv6 沒有延伸標頭) */
static __always_inline int take_udp(__be16 proto, void *l3, void *end)
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
	return udp->dest == take_cfg.port;
}

static __always_inline int wanted(void *data, void *end)
{
	struct ethhdr *eth = data;
	void *l3 = eth + 1;
	__be16 proto;

	/* 放不進一個 UMEM frame 的封包(例如 MTU 9000 介面上的大 ping)導過來只會被丟掉:交給核心 */
	if ((void *)((__u8 *)data + take_cfg.max_len + 1) <= end)
		return 0;
	if (take_cfg.mode == TAKE_ALL)
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
	if (take_cfg.mode == TAKE_RESPOND)
		return take_respond(eth, proto, l3, end);
	return take_udp(proto, l3, end);
}

SEC("xdp")
int xsk_take(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	__u32 q = ctx->rx_queue_index;
	int action = XDP_PASS;

	/* 這個佇列沒有我們的 socket 時,bpf_redirect_map 回傳第三個參數:XDP_PASS */
	if (wanted(data, end))
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
#include <net/if.h>
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
	/* 以下只有主執行緒用 */
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
};

struct ctx {
	struct config cfg;
	int ifindex;
	uint8_t if_mac[6];
	unsigned if_mtu;    /* 0 = 讀不到 */
	bool ip_from_iface; /* respond 回答的位址取自介面(沒給 --ip):位址被移除時要停止回答 */
	unsigned if_queues; /* 介面的 RX 佇列數 */
	/* XDP 程式(txonly 沒有) */
	struct bpf_object *obj;
	struct xdp_program *prog;
	enum xdp_attach_mode attached; /* 實際掛上的模式;XDP_MODE_UNSPEC = 沒掛 */
	uint32_t prog_id;
	bool dispatcher; /* 經由 libxdp 的多程式 dispatcher 掛載 */
	int xsks_map_fd, stats_map_fd;
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
static const char *recovery_cmd(const struct ctx *c, enum xdp_attach_mode mode, const char *netns, char *buf,
				size_t len);

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

/*
 * 嵌入的物件檔 → bpf_object(尚未載入核心)→ 依介面調整 map 大小、填 .rodata 設定
 * → libxdp 載入並掛上。libxdp 會先試它的多程式 dispatcher(可與其他 XDP 程式共存);
 * 核心不支援(freplace 被拒)或沒有 bpffs 時,它自己退回「單一程式」直接掛載。
 */
static int xdp_attach(struct ctx *c, enum xdp_attach_mode mode)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "af_xdp_socket");
	struct take_config tc = { .port = htons(c->cfg.udp_port), .max_len = c->cfg.frame_size - XDP_PACKET_HEADROOM };
	struct bpf_map *map;
	int err;

	c->obj = bpf_object__open_mem(xdp_obj_start, (size_t)(xdp_obj_end - xdp_obj_start), &oo);
	if (!c->obj)
		return -errno;
	bpf_object__for_each_map(map, c->obj)
	{
		if (!strcmp(bpf_map__name(map), "xsks_map") || !strcmp(bpf_map__name(map), "queue_stats")) {
			err = bpf_map__set_max_entries(map, c->if_queues);
		} else if (bpf_map__is_internal(map) && strstr(bpf_map__name(map), ".rodata")) {
			/* 大小必須正好是 take_config:確定 .rodata 裡只有它 */
			if (c->cfg.mode == MODE_RESPOND) {
				tc.mode = TAKE_RESPOND;
				memcpy(&tc.ipv4, &c->cfg.ip, 4);
				memcpy(tc.mac, c->if_mac, 6);
			} else {
				tc.mode = c->cfg.take_all ? TAKE_ALL : TAKE_UDP;
			}
			err = bpf_map__set_initial_value(map, &tc, sizeof(tc));
		} else {
			err = 0;
		}
		if (err)
			goto fail;
	}
	c->prog = xdp_program__from_bpf_obj(c->obj, "xdp");
	err = (int)libxdp_get_error(c->prog);
	if (err) {
		c->prog = NULL;
		goto fail;
	}
	err = xdp_program__attach(c->prog, c->ifindex, mode, 0);
	if (err)
		goto fail;
	c->attached = mode;
	c->xsks_map_fd = bpf_object__find_map_fd_by_name(c->obj, "xsks_map");
	c->stats_map_fd = bpf_object__find_map_fd_by_name(c->obj, "queue_stats");
	c->prog_id = xdp_program__id(c->prog);

	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(c->ifindex);
	if (!libxdp_get_error(mp) && mp) {
		c->dispatcher = !xdp_multiprog__is_legacy(mp);
		xdp_multiprog__close(mp);
	}
	return 0;
fail:
	if (c->prog)
		xdp_program__close(c->prog);
	c->prog = NULL;
	bpf_object__close(c->obj); /* from_bpf_obj 不擁有 obj:由我們關 */
	c->obj = NULL;
	return err < 0 ? err : -err;
}

/* 卸下我們的程式(libxdp 只卸下自己那一個;經 dispatcher 時其他程式留著) */
static void xdp_detach(struct ctx *c)
{
	if (c->prog && c->attached != XDP_MODE_UNSPEC) {
		int err = xdp_program__detach(c->prog, c->ifindex, c->attached, 0);
		char cmd[160];
		/* 介面已經不在這裡時程式也跟著走了;還在卻卸不下來就要說 */
		if (err && (int)if_nametoindex(c->cfg.ifname) == c->ifindex)
			fprintf(stderr, "錯誤:卸下 XDP 程式失敗:%s;請手動執行:%s\n", strerror(-err),
				recovery_cmd(c, c->attached, NULL, cmd, sizeof(cmd)));
	}
	c->attached = XDP_MODE_UNSPEC;
	if (c->prog)
		xdp_program__close(c->prog);
	c->prog = NULL;
	bpf_object__close(c->obj);
	c->obj = NULL;
}

/* 介面上已經有別人的 XDP 程式:指定的掛載模式會被忽略、程式會互相覆蓋,所以先檢查。
 * libxdp dispatcher 例外:我們的程式會加進去,與其他程式共存。 */
static int check_existing_program(struct ctx *c)
{
	struct xdp_multiprog *mp = xdp_multiprog__get_from_ifindex(c->ifindex);
	char cmd[160];
	int err = 0;

	if (libxdp_get_error(mp) || !mp)
		return 0; /* 沒有任何程式 */
	if (xdp_multiprog__is_legacy(mp)) {
		struct xdp_program *p = xdp_multiprog__main_prog(mp);
		enum xdp_attach_mode m = xdp_multiprog__attach_mode(mp);
		fprintf(stderr,
			"錯誤:介面 %s 已經掛著 XDP 程式(id %u,%s 模式);一個 af_xdp_socket 就能服務多個佇列"
			"(佇列寫 0-3 或 all)。確認不再需要後卸下:%s\n",
			c->cfg.ifname, p ? xdp_program__id(p) : 0, mode_label(m), recovery_cmd(c, m, NULL, cmd, sizeof(cmd)));
		err = -EEXIST;
	} else {
		printf("介面上已有 libxdp dispatcher(%d 個程式):我們的程式會加入,與它們共存\n",
		       xdp_multiprog__program_count(mp));
	}
	xdp_multiprog__close(mp);
	return err;
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

	if (cfg->mode != MODE_TXONLY && (err = check_existing_program(c)))
		return err;
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
	char cmd[160];
	printf("實際生效:XDP 程式 id %u 以 %s 模式掛載(%s),socket 為 %s 模式%s\n", c->prog_id,
	       mode_label(c->attached), c->dispatcher ? "經 libxdp dispatcher,可與其他 XDP 程式共存" : "單一程式",
	       c->zerocopy ? "zero-copy" : "copy", cfg->need_wakeup ? ",need_wakeup 開啟" : "");
	printf("程式若被 SIGKILL 而留下 XDP 程式,卸載指令:%s\n", recovery_cmd(c, c->attached, NULL, cmd, sizeof(cmd)));
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

/* 不能當回覆目的地的來源 IPv4(核心稱為 martian):0/8、127/8、群播與保留位址(224 以上)、我們自己 */
static bool martian_src(const struct ctx *c, const uint8_t *ip)
{
	return ip[0] == 0 || ip[0] == 127 || ip[0] >= 224 || !memcmp(ip, &c->cfg.ip, 4);
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
 * 主執行緒:啟動佇列執行緒後只做三件事:每秒印統計、檢查介面、等結束訊號。
 * 訊號在所有執行緒都被擋住,只由這裡的 sigtimedwait 同步接收,所以不需要非同步的訊號處理函式。
 * 回傳結束碼。
 */
static int supervise(struct ctx *c, const sigset_t *sigs)
{
	uint64_t t0 = now_ns(), next_tick = t0 + 1000000000ull, last_tick = t0;
	uint64_t end = c->cfg.duration > 0 ? t0 + (uint64_t)(c->cfg.duration * 1e9) : 0;
	int rc = 0;

	for (;;) {
		struct timespec to = { 0, 250000000 }; /* 每 250 ms 檢查一次介面 */
		int sig = sigtimedwait(sigs, NULL, &to);
		uint64_t now = now_ns();
		const char *why;
		bool vanished;

		if (__atomic_load_n(&c->fatal, __ATOMIC_ACQUIRE)) {
			rc = 1;
			break;
		}
		if (sig > 0 && sig != SIGUSR1) {
			printf("\n收到 %s,結束中…\n", strsignal(sig));
			break;
		}
		if ((why = iface_gone(c, &vanished))) {
			/* 介面被移到別的命名空間時 XDP 程式跟著它走,我們在這裡卸不下:說怎麼卸 */
			char cmd[160], hint[384] = "";
			if (vanished && c->attached != XDP_MODE_UNSPEC)
				snprintf(hint, sizeof(hint), ";若是被移到別的命名空間,XDP 程式還掛在它上面:%s",
					 recovery_cmd(c, c->attached, "命名空間", cmd, sizeof(cmd)));
			set_fatal(c, "介面 %s %s,程式結束%s", c->cfg.ifname, why, hint);
			rc = 1;
			break;
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
	OPT_ALL, OPT_SPIN,
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
	{ { "help", no_argument, NULL, 'h' }, NULL, "顯示這份說明" },
	{ { NULL, 0, NULL, 0 }, NULL, NULL },
};

static void usage(const char *prog)
{
	printf("用法:%s [選項] 介面 [佇列]\n", prog);
	printf("AF_XDP 示範:把介面佇列上「這個模式要處理的」封包直接交給使用者空間,其他照常交給核心。需要 root。\n"
	       "佇列:一個編號(預設 0)、一段範圍(0-3)或 all;每個佇列一個 socket 與一個執行緒,共用一塊 UMEM。\n\n"
	       "選項:\n");
	for (const struct opt_help *o = options; o->opt.name; o++) {
		char left[48];
		if (o->opt.val < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->opt.val, o->opt.name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->opt.name, o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-28s %s\n", left, o->help);
	}
	printf("\n拿走的封包:respond = 對本機 IPv4 的 ARP 請求與 ping;rxdrop/l2fwd = 送到 --udp-port 的 UDP;\n"
	       "txonly 不掛 XDP 程式。其他封包(SSH、TCP、IPv6…)全部照常交給核心。\n"
	       "不指定 -S/-N/-c/-z 時自動選最好的:native + zero-copy,不行就 native + copy,再不行 SKB + copy。\n"
	       "資源上限:記憶體 = 佇列數 × frames × frame-size(預設每個佇列 16 MiB),啟動時一次配置;\n"
	       "對端的流量無法讓程式配置更多,ring 滿時多出來的封包由核心丟棄並計數。\n"
	       "程式被 SIGKILL 後若 XDP 程式還掛著:sudo ip link set dev 介面 xdpgeneric off(SKB 模式)\n"
	       "或 xdpdrv off(native 模式);程式啟動時會印出實際要用的那一個。\n");
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
	if (cfg->mode == MODE_TXONLY && !cfg->dst_ip_set)
		usage_error("%s", "txonly 模式需要 --dst-ip(只送到你自己的測試主機)");
	if (cfg->take_all && cfg->mode != MODE_RXDROP && cfg->mode != MODE_L2FWD)
		usage_error("%s", "--all 只用於 rxdrop 與 l2fwd(respond 只拿 ARP 與 ping,txonly 不收)");
	if (cfg->pkt_size > cfg->frame_size - XDP_PACKET_HEADROOM)
		usage_error("%s", "--size 超過 frame 可容納的大小(frame 大小減 256 位元組 headroom)");
}

/* 卸下留在介面上的 XDP 程式的指令(netns:介面所在的命名空間,NULL = 目前這個) */
static const char *recovery_cmd(const struct ctx *c, enum xdp_attach_mode mode, const char *netns, char *buf,
				size_t len)
{
	const char *kw = mode == XDP_MODE_SKB ? "xdpgeneric" : mode == XDP_MODE_HW ? "xdpoffload" : "xdpdrv";

	if (netns)
		snprintf(buf, len, "sudo ip -n %s link set dev %s %s off", netns, c->cfg.ifname, kw);
	else
		snprintf(buf, len, "sudo ip link set dev %s %s off", c->cfg.ifname, kw);
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

/* libbpf/libxdp 的訊息:預設只顯示警告以上;AF_XDP_DEBUG=1 顯示全部 */
static int lib_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN && !getenv("AF_XDP_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	/* dispatcher 無法使用時 libxdp 會自己退回單一程式,我們在「實際生效」那行說明;其餘警告照印 */
	if (!getenv("AF_XDP_DEBUG") &&
	    (level != LIBXDP_WARN || strstr(fmt, "bpffs") || strstr(fmt, "dispatcher") || strstr(fmt, "single prog")))
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
	c->xsks_map_fd = c->stats_map_fd = -1;

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
