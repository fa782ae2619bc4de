// SPDX-License-Identifier: MIT
/*
 * af_xdp_socket.c — AF_XDP 示範:在使用者空間直接收送網卡佇列上的封包
 *
 * 示範內容:
 *   一塊 UMEM(使用者配置、與核心共享的封包記憶體,切成固定大小的 frame)與四個 ring:
 *
 *        使用者空間                          核心 / 驅動程式
 *     ┌──────────────┐   fill ring   ┌───────────────────────┐
 *     │              │ ────────────▶ │ 空 frame:收封包用      │
 *     │     UMEM      │   RX ring     │                       │
 *     │ (frame 0..N) │ ◀──────────── │ 收到的封包(位址,長度) │
 *     │              │   TX ring     │                       │
 *     │              │ ────────────▶ │ 要送的封包             │
 *     │              │ completion    │                       │
 *     │              │ ◀──────────── │ 已送完、可重用的 frame │
 *     └──────────────┘               └───────────────────────┘
 *   ring 裡只傳 UMEM 內的位址,封包本身不複製(零複製模式)或只複製一次(copy 模式)。
 *   libxdp 的預設 XDP 程式把指定佇列的封包導向(redirect)這個 socket。
 *
 * 模式(-m):
 *   respond  (預設)在使用者空間回答 ARP 請求與 ICMP echo(ping),其他一律丟棄並計數
 *   rxdrop   只計數、立刻回收
 *   txonly   產生 UDP 封包(可限速、可限數量)
 *   l2fwd    交換 MAC 後從同一個介面送回
 *
 * 需求:root(或 CAP_NET_ADMIN + CAP_BPF)、Linux 5.10+、libxdp(xsk API)與 libbpf。
 *
 * 用法:
 *   sudo ./af_xdp_socket eth0 0                      # 回答對 eth0 IPv4 位址的 ping
 *   sudo ./af_xdp_socket -m rxdrop -N veth0 0        # native 模式收包計數
 *   sudo ./af_xdp_socket -m txonly --dst-ip 198.18.0.2 --count 1000 veth0
 *   sudo ./af_xdp_socket --help
 * 一個指令安全地試試看(在自己建立的命名空間裡):sudo make demo
 *
 * 統計(每秒):收/送封包數與 pps,以及核心的 XDP_STATISTICS:
 *   rx_dropped(UMEM 無空間而丟)、rx_invalid(無效描述子)、rx_ring_full(RX ring 滿)、
 *   fill_empty(fill ring 空:使用者空間來不及補 frame)、tx_invalid、tx_ring_empty。
 * 結束(SIGINT/SIGTERM、--duration、--count)時印出總結與一行 SUMMARY,並卸下 XDP 程式。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
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
#include <dirent.h>
#include <stdarg.h>

#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <xdp/xsk.h>
#include <xdp/libxdp.h>

#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif

#define EXIT_USAGE 64
#define MAX_BATCH 256

enum mode { MODE_RESPOND, MODE_RXDROP, MODE_TXONLY, MODE_L2FWD };
static const char *const mode_names[] = { "respond", "rxdrop", "txonly", "l2fwd" };

/* ---- 設定與狀態 ------------------------------------------------------------ */

struct config {
	const char *ifname;
	unsigned queue;
	enum mode mode;
	int attach;  /* 0 = 自動,XDP_FLAGS_SKB_MODE 或 XDP_FLAGS_DRV_MODE */
	int copy;    /* 0 = 自動,XDP_COPY 或 XDP_ZEROCOPY */
	bool poll_mode;
	bool busy_poll;
	bool need_wakeup;
	unsigned batch;
	int cpu;
	unsigned frames;
	unsigned frame_size;
	double duration;
	bool quiet;
	/* respond */
	struct in_addr ip;
	bool ip_set;
	/* txonly */
	uint8_t src_mac[6], dst_mac[6];
	bool src_mac_set;
	struct in_addr src_ip, dst_ip;
	bool src_ip_set, dst_ip_set;
	uint16_t src_port, dst_port;
	unsigned pkt_size;
	uint64_t rate;	/* pps;0 = 全速 */
	uint64_t count; /* 0 = 不限 */
};

struct counters {
	uint64_t rx, tx, rx_bytes, tx_bytes;
	uint64_t arp_requests, arp_replies, icmp_requests, icmp_replies;
	uint64_t malformed, not_for_us, other, vlan, fragments, tx_ring_full;
};

struct ctx {
	struct config cfg;
	int ifindex;
	uint8_t if_mac[6];
	void *umem_area;
	size_t umem_size;
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fill, tx;
	struct xsk_ring_cons comp, rx;
	uint64_t *free_frames; /* 不在任何 ring 上的 frame(堆疊) */
	unsigned nfree;
	unsigned tx_outstanding; /* 已送進 TX ring、尚未完成 */
	uint32_t prog_id;	  /* 我們掛上的 XDP 程式,結束時卸下 */
	uint32_t xdp_flags;
	bool zerocopy;
	bool busy_poll_ok;
	struct counters st, last;
	struct xdp_statistics xs_last;
	struct timespec start, tick;
	uint8_t tx_template[4096];
	uint64_t tx_budget_t0_ns, tx_generated;
};

static volatile sig_atomic_t stop_flag;

/* libbpf/libxdp 的訊息:預設只顯示警告以上;AF_XDP_DEBUG=1 顯示全部 */
static int lib_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level == LIBBPF_DEBUG && !getenv("AF_XDP_DEBUG"))
		return 0;
	if (level == LIBBPF_INFO && !getenv("AF_XDP_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static int xdp_print(enum libxdp_print_level level, const char *fmt, va_list ap)
{
	/* 「找不到 bpffs」只影響 dispatcher,我們不用它 */
	if ((level != LIBXDP_WARN || strstr(fmt, "bpffs")) && !getenv("AF_XDP_DEBUG"))
		return 0;
	return vfprintf(stderr, fmt, ap);
}

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

/* ---- 選項 -------------------------------------------------------------------- */

struct opt_help {
	struct option opt;
	const char *arg;
	const char *help;
};

enum {
	OPT_CPU = 256, OPT_FRAMES, OPT_FRAME_SIZE, OPT_DURATION, OPT_IP, OPT_SRC_MAC, OPT_DST_MAC, OPT_SRC_IP,
	OPT_DST_IP, OPT_SRC_PORT, OPT_DST_PORT, OPT_SIZE, OPT_RATE, OPT_COUNT, OPT_NO_WAKEUP,
};

static const struct opt_help options[] = {
	{ { "mode", required_argument, NULL, 'm' }, "模式", "respond(預設)| rxdrop | txonly | l2fwd" },
	{ { "skb", no_argument, NULL, 'S' }, NULL, "SKB(generic)掛載模式:任何驅動程式都可用,較慢" },
	{ { "native", no_argument, NULL, 'N' }, NULL, "native(驅動程式)掛載模式" },
	{ { "copy", no_argument, NULL, 'c' }, NULL, "copy 模式綁定" },
	{ { "zerocopy", no_argument, NULL, 'z' }, NULL, "zero-copy 模式綁定(驅動程式要支援)" },
	{ { "poll", no_argument, NULL, 'p' }, NULL, "以 poll() 等待封包(預設忙碌迴圈 + need_wakeup)" },
	{ { "busy-poll", no_argument, NULL, 'B' }, NULL, "SO_PREFER_BUSY_POLL / SO_BUSY_POLL 忙碌輪詢" },
	{ { "no-need-wakeup", no_argument, NULL, OPT_NO_WAKEUP }, NULL, "關閉 need_wakeup(每次都喚醒核心)" },
	{ { "batch", required_argument, NULL, 'b' }, "N", "每次處理的封包數,1..256(預設 64)" },
	{ { "cpu", required_argument, NULL, OPT_CPU }, "N", "把資料路徑執行緒釘在 CPU N" },
	{ { "frames", required_argument, NULL, OPT_FRAMES }, "N", "UMEM frame 數,2 的次方,64..65536(預設 4096)" },
	{ { "frame-size", required_argument, NULL, OPT_FRAME_SIZE }, "位元組", "frame 大小 2048 或 4096(預設 4096)" },
	{ { "duration", required_argument, NULL, OPT_DURATION }, "秒", "執行多久後結束(預設直到 Ctrl-C)" },
	{ { "quiet", no_argument, NULL, 'q' }, NULL, "不印每秒統計" },
	{ { "ip", required_argument, NULL, OPT_IP }, "位址", "respond:要回答的 IPv4 位址(預設介面本身的位址)" },
	{ { "src-mac", required_argument, NULL, OPT_SRC_MAC }, "MAC", "txonly:來源 MAC(預設介面 MAC)" },
	{ { "dst-mac", required_argument, NULL, OPT_DST_MAC }, "MAC", "txonly:目的 MAC(預設 ff:ff:ff:ff:ff:ff)" },
	{ { "src-ip", required_argument, NULL, OPT_SRC_IP }, "位址", "txonly:來源 IPv4(預設介面位址)" },
	{ { "dst-ip", required_argument, NULL, OPT_DST_IP }, "位址", "txonly:目的 IPv4(必要)" },
	{ { "src-port", required_argument, NULL, OPT_SRC_PORT }, "埠", "txonly:UDP 來源埠(預設 9000)" },
	{ { "dst-port", required_argument, NULL, OPT_DST_PORT }, "埠", "txonly:UDP 目的埠(預設 9001)" },
	{ { "size", required_argument, NULL, OPT_SIZE }, "位元組", "txonly:frame 大小(不含 FCS),42..3840(預設 64)" },
	{ { "rate", required_argument, NULL, OPT_RATE }, "pps", "txonly:每秒封包數(預設 0 = 全速)" },
	{ { "count", required_argument, NULL, OPT_COUNT }, "N", "txonly:送出 N 個後結束" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "顯示這份說明" },
	{ { NULL, 0, NULL, 0 }, NULL, NULL },
};

static void usage(const char *prog)
{
	printf("用法:%s [選項] 介面 [佇列編號]\n", prog);
	printf("AF_XDP 示範:把介面某個佇列的封包直接交給使用者空間(佇列預設 0)。需要 root。\n\n選項:\n");
	for (const struct opt_help *o = options; o->opt.name; o++) {
		char left[48];
		if (o->opt.val < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->opt.val, o->opt.name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->opt.name, o->arg ? " " : "", o->arg ? o->arg : "");
		printf("  %-28s %s\n", left, o->help);
	}
	printf("\n不指定 -S/-N/-c/-z 時自動選最好的:native + zero-copy,不行就 native + copy,再不行 SKB + copy。\n"
	       "程式被 SIGKILL 後若 XDP 程式還掛著:sudo ip link set dev 介面 xdp off\n");
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

	*cfg = (struct config){ .mode = MODE_RESPOND, .batch = 64, .cpu = -1, .frames = 4096, .frame_size = 4096,
				.need_wakeup = true, .src_port = 9000, .dst_port = 9001, .pkt_size = 64 };
	memset(cfg->dst_mac, 0xff, 6);

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
			cfg->attach = c == 'S' ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
			break;
		case 'c':
		case 'z':
			if (cfg->copy)
				usage_error("%s", "-c 與 -z 只能擇一");
			cfg->copy = c == 'c' ? XDP_COPY : XDP_ZEROCOPY;
			break;
		case 'p':
			cfg->poll_mode = true;
			break;
		case 'B':
			cfg->busy_poll = true;
			break;
		case OPT_NO_WAKEUP:
			cfg->need_wakeup = false;
			break;
		case 'b':
			cfg->batch = (unsigned)parse_num(optarg, "--batch", 1, MAX_BATCH);
			break;
		case OPT_CPU:
			cfg->cpu = (int)parse_num(optarg, "--cpu", 0, 4095);
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
			if (end == optarg || *end || cfg->duration <= 0 || cfg->duration > 86400)
				usage_error("--duration 必須是 0 到 86400 的秒數,得到「%s」", optarg);
			break;
		}
		case 'q':
			cfg->quiet = true;
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
	if (strlen(cfg->ifname) >= IFNAMSIZ)
		usage_error("介面名稱「%s」太長(最多 15 個字元)", cfg->ifname);
	if (optind < argc)
		cfg->queue = (unsigned)parse_num(argv[optind++], "佇列編號", 0, 4095);
	if (optind < argc)
		usage_error("多餘的參數「%s」", argv[optind]);
	if (cfg->mode == MODE_TXONLY && !cfg->dst_ip_set)
		usage_error("%s", "txonly 模式需要 --dst-ip(只送到你自己的測試主機)");
	if (cfg->pkt_size > cfg->frame_size - XDP_PACKET_HEADROOM)
		usage_error("%s", "--size 超過 frame 可容納的大小(frame 大小減 256 位元組 headroom)");
}

/* ---- 工具 -------------------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

static double since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

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

/* ---- 介面資訊 ------------------------------------------------------------------ */

static int count_rx_queues(const char *ifname)
{
	char path[128];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues", ifname);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, "rx-", 3))
			n++;
	closedir(d);
	return n;
}

static int iface_info(struct ctx *c)
{
	struct ifreq ifr = { 0 };
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->cfg.ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0)
		memcpy(c->if_mac, ifr.ifr_hwaddr.sa_data, 6);
	if (!c->cfg.ip_set || !c->cfg.src_ip_set) {
		memset(&ifr.ifr_addr, 0, sizeof(ifr.ifr_addr));
		ifr.ifr_addr.sa_family = AF_INET;
		if (ioctl(fd, SIOCGIFADDR, &ifr) == 0) {
			struct in_addr a = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
			if (!c->cfg.ip_set) {
				c->cfg.ip = a;
				c->cfg.ip_set = true;
			}
			if (!c->cfg.src_ip_set)
				c->cfg.src_ip = a;
		}
	}
	close(fd);
	if (!c->cfg.src_mac_set)
		memcpy(c->cfg.src_mac, c->if_mac, 6);
	return 0;
}

static const char *attach_name(uint8_t mode)
{
	switch (mode) {
	case XDP_ATTACHED_DRV:
		return "native(驅動程式)";
	case XDP_ATTACHED_SKB:
		return "SKB(generic)";
	case XDP_ATTACHED_HW:
		return "硬體卸載";
	case XDP_ATTACHED_MULTI:
		return "多重";
	default:
		return "無";
	}
}

/* ---- UMEM 與 socket ------------------------------------------------------------ */

static void free_push(struct ctx *c, uint64_t addr)
{
	c->free_frames[c->nfree++] = addr;
}

static int umem_create(struct ctx *c)
{
	struct xsk_umem_config ucfg = {
		.fill_size = c->cfg.frames / 2,
		.comp_size = c->cfg.frames / 2,
		.frame_size = c->cfg.frame_size,
		.frame_headroom = 0,
		.flags = 0,
	};
	int ret = xsk_umem__create(&c->umem, c->umem_area, c->umem_size, &c->fill, &c->comp, &ucfg);

	if (ret) {
		c->umem = NULL;
		return ret;
	}
	/* 所有 frame 先放進空閒堆疊;之後補進 fill ring 的是其中一半 */
	c->nfree = 0;
	for (unsigned i = 0; i < c->cfg.frames; i++)
		free_push(c, (uint64_t)i * c->cfg.frame_size);
	return 0;
}

static void xsk_teardown(struct ctx *c)
{
	if (c->xsk) {
		xsk_socket__delete(c->xsk);
		c->xsk = NULL;
	}
	if (c->umem) {
		xsk_umem__delete(c->umem);
		c->umem = NULL;
	}
}

/* 卸下我們掛上的 XDP 程式(只在 ID 仍相同時,避免卸掉別人的) */
static void detach_prog(struct ctx *c)
{
	struct bpf_xdp_query_opts q = { .sz = sizeof(q) };

	if (!c->prog_id || !c->ifindex)
		return;
	if (bpf_xdp_query(c->ifindex, 0, &q) == 0 && q.prog_id == c->prog_id) {
		uint32_t mode = q.attach_mode == XDP_ATTACHED_SKB ? XDP_FLAGS_SKB_MODE : XDP_FLAGS_DRV_MODE;
		bpf_xdp_detach(c->ifindex, mode, NULL);
	}
	c->prog_id = 0;
}

static const char *xsk_hint(int err, uint32_t xdp_flags, uint16_t bind_flags)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return "需要 root 權限(或 CAP_NET_ADMIN + CAP_BPF):請用 sudo 執行";
	case EOPNOTSUPP:
		if (bind_flags & XDP_ZEROCOPY)
			return "這個驅動程式不支援 zero-copy(veth 只能 copy 模式):改用 -c,或不指定讓程式自動選擇";
		return (xdp_flags & XDP_FLAGS_DRV_MODE) ? "驅動程式不支援 native XDP:改用 -S(SKB 模式)"
							: "不支援的操作";
	case ERANGE:
		return "veth 對端 MTU 太大,native XDP 不能用:ip link set dev 對端 mtu 3500,或改用 -S";
	case ENOENT:
		return "找不到 libxdp 的預設 XDP 程式物件(xsk_def_xdp_prog*.o,通常在 /usr/lib/x86_64-linux-gnu/bpf/):"
		       "請安裝 libxdp1,或以 LIBXDP_OBJECT_PATH 指定目錄";
	case EBUSY:
		return "佇列正被另一個 AF_XDP socket 使用,或上一個 socket 尚未釋放";
	case EINVAL:
		return "參數不被接受(佇列編號?frame 大小?)";
	case ENOMEM:
	case ENOBUFS:
		return "記憶體不足或 memlock 上限太低(ulimit -l)";
	default:
		return "";
	}
}

/* 依指定的掛載/綁定旗標建立 socket;EBUSY 時重建 UMEM、稍等再試 */
static int xsk_try(struct ctx *c, uint32_t xdp_flags, uint16_t bind_flags)
{
	struct xsk_socket_config xcfg = {
		.rx_size = c->cfg.frames / 2,
		.tx_size = c->cfg.frames / 2,
		.libxdp_flags = 0,
		.xdp_flags = xdp_flags,
		.bind_flags = bind_flags | (c->cfg.need_wakeup ? XDP_USE_NEED_WAKEUP : 0),
	};
	int ret = 0;

	for (int attempt = 0; attempt < 20; attempt++) {
		ret = umem_create(c);
		if (ret)
			return ret;
		ret = xsk_socket__create(&c->xsk, c->cfg.ifname, c->cfg.queue, c->umem, &c->rx, &c->tx, &xcfg);
		if (!ret)
			return 0;
		c->xsk = NULL;
		xsk_teardown(c);
		detach_prog(c);
		if (ret != -EBUSY)
			return ret;
		/* 前一個 socket 的非同步拆除還沒完成:等一下 */
		usleep(20000);
	}
	return ret;
}

static int xsk_setup(struct ctx *c)
{
	struct bpf_xdp_query_opts q = { .sz = sizeof(q) };
	struct {
		uint32_t xdp;
		uint16_t bind;
	} tries[3];
	int ntries = 0, ret = -EINVAL;

	/* 已經有 XDP 程式掛著:指定的掛載模式會被靜默忽略,所以先檢查並回報 */
	if (bpf_xdp_query(c->ifindex, 0, &q) == 0 && q.prog_id) {
		fprintf(stderr,
			"錯誤:介面 %s 已經掛著 XDP 程式(id %u,%s 模式);請先確認是誰掛的,"
			"不再需要時卸下:sudo ip link set dev %s xdp off\n",
			c->cfg.ifname, q.prog_id, attach_name(q.attach_mode), c->cfg.ifname);
		return -EEXIST;
	}

	uint32_t attach_list[2];
	int na = 0;
	if (c->cfg.attach) {
		attach_list[na++] = (uint32_t)c->cfg.attach;
	} else {
		attach_list[na++] = XDP_FLAGS_DRV_MODE;
		attach_list[na++] = XDP_FLAGS_SKB_MODE;
	}
	for (int a = 0; a < na; a++) {
		if (c->cfg.copy) {
			tries[ntries].xdp = attach_list[a];
			tries[ntries++].bind = (uint16_t)c->cfg.copy;
		} else if (attach_list[a] == XDP_FLAGS_DRV_MODE) {
			/* zero-copy 只有 native 模式可能成功 */
			tries[ntries].xdp = attach_list[a];
			tries[ntries++].bind = XDP_ZEROCOPY;
			tries[ntries].xdp = attach_list[a];
			tries[ntries++].bind = XDP_COPY;
		} else {
			tries[ntries].xdp = attach_list[a];
			tries[ntries++].bind = XDP_COPY;
		}
	}

	for (int i = 0; i < ntries; i++) {
		ret = xsk_try(c, tries[i].xdp, tries[i].bind);
		if (!ret) {
			c->xdp_flags = tries[i].xdp;
			break;
		}
		bool last = i == ntries - 1;
		if (!last)
			printf("  嘗試 %s + %s 失敗(%s),改用下一個選項\n",
			       tries[i].xdp == XDP_FLAGS_DRV_MODE ? "native" : "SKB",
			       tries[i].bind == XDP_ZEROCOPY ? "zero-copy" : "copy", strerror(-ret));
		else
			fprintf(stderr, "錯誤:在 %s 佇列 %u 建立 AF_XDP socket 失敗(%s 模式、%s):%s。%s\n",
				c->cfg.ifname, c->cfg.queue, tries[i].xdp == XDP_FLAGS_DRV_MODE ? "native" : "SKB",
				tries[i].bind == XDP_ZEROCOPY ? "zero-copy" : "copy", strerror(-ret),
				xsk_hint(-ret, tries[i].xdp, tries[i].bind));
	}
	if (ret)
		return ret;

	/* 讀回實際生效的模式 */
	struct xdp_options xo = { 0 };
	socklen_t len = sizeof(xo);
	if (getsockopt(xsk_socket__fd(c->xsk), SOL_XDP, XDP_OPTIONS, &xo, &len) == 0)
		c->zerocopy = xo.flags & XDP_OPTIONS_ZEROCOPY;
	memset(&q, 0, sizeof(q));
	q.sz = sizeof(q);
	if (bpf_xdp_query(c->ifindex, 0, &q) == 0) {
		c->prog_id = q.prog_id;
		printf("實際生效:XDP 程式 id %u 以 %s 模式掛載,socket 為 %s 模式%s\n", q.prog_id,
		       attach_name(q.attach_mode), c->zerocopy ? "zero-copy" : "copy",
		       c->cfg.need_wakeup ? ",need_wakeup 開啟" : "");
	}

	if (c->cfg.busy_poll) {
		int fd = xsk_socket__fd(c->xsk), one = 1, usec = 20, budget = (int)c->cfg.batch;
		c->busy_poll_ok = !setsockopt(fd, SOL_SOCKET, SO_PREFER_BUSY_POLL, &one, sizeof(one)) &&
				  !setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL, &usec, sizeof(usec)) &&
				  !setsockopt(fd, SOL_SOCKET, SO_BUSY_POLL_BUDGET, &budget, sizeof(budget));
		printf("busy-poll:%s\n", c->busy_poll_ok ? "已啟用(SO_PREFER_BUSY_POLL、SO_BUSY_POLL 20 µs)"
							 : "無法啟用,改用一般模式");
	}
	return 0;
}

/* ---- 資料路徑 ---------------------------------------------------------------- */

/* 補 fill ring:最多放一半的 frame,另一半留給 TX */
static void refill(struct ctx *c)
{
	unsigned want = xsk_prod_nb_free(&c->fill, c->cfg.frames / 2);
	uint32_t idx;

	if (c->cfg.mode == MODE_TXONLY && c->nfree < c->cfg.frames / 4)
		return; /* txonly:frame 優先給 TX */
	if (want > c->nfree)
		want = c->nfree;
	if (want > c->cfg.batch * 2)
		want = c->cfg.batch * 2;
	if (!want)
		return;
	if (xsk_ring_prod__reserve(&c->fill, want, &idx) != want)
		return;
	for (unsigned i = 0; i < want; i++)
		*xsk_ring_prod__fill_addr(&c->fill, idx + i) = c->free_frames[--c->nfree];
	xsk_ring_prod__submit(&c->fill, want);
}

static void kick_tx(struct ctx *c)
{
	if (!c->tx_outstanding)
		return;
	if (!c->cfg.need_wakeup || xsk_ring_prod__needs_wakeup(&c->tx) || c->busy_poll_ok)
		sendto(xsk_socket__fd(c->xsk), NULL, 0, MSG_DONTWAIT, NULL, 0);
}

static void reap_completions(struct ctx *c)
{
	uint32_t idx;
	unsigned n = xsk_ring_cons__peek(&c->comp, MAX_BATCH, &idx);

	for (unsigned i = 0; i < n; i++)
		free_push(c, *xsk_ring_cons__comp_addr(&c->comp, idx + i));
	if (n) {
		xsk_ring_cons__release(&c->comp, n);
		c->tx_outstanding -= n;
	}
}

/* 把 frame 放進 TX ring;失敗(ring 滿)時回收並回傳 false */
static bool tx_one(struct ctx *c, uint64_t addr, uint32_t len)
{
	uint32_t idx;

	if (xsk_ring_prod__reserve(&c->tx, 1, &idx) != 1) {
		c->st.tx_ring_full++;
		free_push(c, addr);
		return false;
	}
	struct xdp_desc *d = xsk_ring_prod__tx_desc(&c->tx, idx);
	d->addr = addr;
	d->len = len;
	xsk_ring_prod__submit(&c->tx, 1);
	c->tx_outstanding++;
	c->st.tx++;
	c->st.tx_bytes += len;
	return true;
}

static void swap_mac(uint8_t *p)
{
	uint8_t tmp[6];

	memcpy(tmp, p, 6);
	memcpy(p, p + 6, 6);
	memcpy(p + 6, tmp, 6);
}

/*
 * respond:檢查每一層的長度,只回答「對我們 IP 的 ARP 請求」與「ICMP echo 請求」。
 * 回傳要送出的長度;0 表示丟棄。所有讀取都不超過 len。
 */
static uint32_t respond(struct ctx *c, uint8_t *p, uint32_t len)
{
	uint32_t off = 12;
	uint16_t type;

	if (len < ETH_HLEN) {
		c->st.malformed++;
		return 0;
	}
	type = rd16(p + off);
	for (int tags = 0; (type == ETH_P_8021Q || type == ETH_P_8021AD) && tags < 2; tags++) {
		if (len < off + 6) {
			c->st.malformed++;
			return 0;
		}
		c->st.vlan += tags == 0;
		off += 4;
		type = rd16(p + off);
	}
	off += 2; /* 第三層開頭 */

	if (type == ETH_P_ARP) {
		uint8_t *a = p + off;
		if (len < off + 28) {
			c->st.malformed++;
			return 0;
		}
		if (rd16(a) != 1 || rd16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4) {
			c->st.malformed++; /* 不是乙太網路 / IPv4 的 ARP,或長度欄位錯誤 */
			return 0;
		}
		if (rd16(a + 6) != 1 || memcmp(a + 24, &c->cfg.ip, 4)) {
			c->st.not_for_us++;
			return 0;
		}
		c->st.arp_requests++;
		/* 就地改成回覆 */
		memcpy(p, a + 8, 6);
		memcpy(p + 6, c->if_mac, 6);
		wr16(a + 6, 2);
		memcpy(a + 18, a + 8, 10); /* 目標 = 原本的發送者(MAC + IP) */
		memcpy(a + 8, c->if_mac, 6);
		memcpy(a + 14, &c->cfg.ip, 4);
		c->st.arp_replies++;
		return off + 28;
	}
	if (type != ETH_P_IP) {
		c->st.other++;
		return 0;
	}

	uint8_t *ip = p + off;
	if (len < off + 20) {
		c->st.malformed++;
		return 0;
	}
	uint32_t ihl = (ip[0] & 0x0f) * 4u, tot = rd16(ip + 2);
	if ((ip[0] >> 4) != 4 || ihl < 20 || len < off + ihl || tot < ihl || tot > len - off ||
	    csum(ip, ihl, 0) != 0) {
		c->st.malformed++;
		return 0;
	}
	if (memcmp(ip + 16, &c->cfg.ip, 4)) {
		c->st.not_for_us++;
		return 0;
	}
	if (rd16(ip + 6) & 0x3fff) { /* MF 旗標或片段位移:不重組,丟棄 */
		c->st.fragments++;
		return 0;
	}
	if (ip[9] != IPPROTO_ICMP) {
		c->st.other++;
		return 0;
	}
	uint8_t *icmp = ip + ihl;
	uint32_t ilen = tot - ihl;
	if (ilen < 8 || csum(icmp, ilen, 0) != 0) {
		c->st.malformed++;
		return 0;
	}
	if (icmp[0] != 8 || icmp[1] != 0) {
		c->st.other++;
		return 0;
	}
	c->st.icmp_requests++;
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
	c->st.icmp_replies++;
	return off + tot; /* 去掉乙太網路的補齊位元組 */
}

static void handle_rx(struct ctx *c)
{
	uint32_t idx;
	unsigned n = xsk_ring_cons__peek(&c->rx, c->cfg.batch, &idx);

	if (!n) {
		/* 沒有封包:need_wakeup 時要叫醒核心補 fill ring(native 模式) */
		if (c->cfg.need_wakeup && xsk_ring_prod__needs_wakeup(&c->fill) && !c->cfg.poll_mode)
			recvfrom(xsk_socket__fd(c->xsk), NULL, 0, MSG_DONTWAIT, NULL, NULL);
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const struct xdp_desc *d = xsk_ring_cons__rx_desc(&c->rx, idx + i);
		uint64_t addr = xsk_umem__extract_addr(d->addr);
		uint64_t base = addr - (addr % c->cfg.frame_size);
		uint8_t *pkt = xsk_umem__get_data(c->umem_area, xsk_umem__add_offset_to_addr(d->addr));
		uint32_t len = d->len, out = 0;

		c->st.rx++;
		c->st.rx_bytes += len;
		if (len > c->cfg.frame_size) {
			c->st.malformed++; /* 不可能,但絕不越界 */
		} else if (c->cfg.mode == MODE_RESPOND) {
			out = respond(c, pkt, len);
		} else if (c->cfg.mode == MODE_L2FWD) {
			if (len >= ETH_HLEN) {
				swap_mac(pkt);
				out = len;
			} else {
				c->st.malformed++;
			}
		}
		if (out)
			tx_one(c, d->addr, out);
		else
			free_push(c, base);
	}
	xsk_ring_cons__release(&c->rx, n);
}

/* txonly:建立 UDP 封包樣板 */
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
	uint32_t sum = 0;
	sum += rd16(ip + 12) + rd16(ip + 14) + rd16(ip + 16) + rd16(ip + 18);
	sum += IPPROTO_UDP + udp_len;
	uint16_t ck = csum(udp, udp_len, sum);
	wr16(udp + 6, ck ? ck : 0xffff);
}

static void generate(struct ctx *c)
{
	unsigned n = c->cfg.batch;
	uint32_t idx;

	if (c->cfg.count) {
		if (c->tx_generated >= c->cfg.count)
			return;
		if (c->cfg.count - c->tx_generated < n)
			n = (unsigned)(c->cfg.count - c->tx_generated);
	}
	if (c->cfg.rate) {
		/* 依時間計算目前最多可以送幾個 */
		/* 128 位元乘法:長時間、高速率下 64 位元會溢位 */
		uint64_t allowed = (uint64_t)((unsigned __int128)(now_ns() - c->tx_budget_t0_ns) * c->cfg.rate /
					      1000000000ull);
		if (allowed <= c->tx_generated)
			return;
		if (allowed - c->tx_generated < n)
			n = (unsigned)(allowed - c->tx_generated);
	}
	if (n > c->nfree)
		n = c->nfree;
	if (!n)
		return;
	n = xsk_ring_prod__reserve(&c->tx, n, &idx);
	for (unsigned i = 0; i < n; i++) {
		uint64_t addr = c->free_frames[--c->nfree];
		struct xdp_desc *d = xsk_ring_prod__tx_desc(&c->tx, idx + i);
		memcpy(xsk_umem__get_data(c->umem_area, addr), c->tx_template, c->cfg.pkt_size);
		d->addr = addr;
		d->len = c->cfg.pkt_size;
	}
	if (n) {
		xsk_ring_prod__submit(&c->tx, n);
		c->tx_outstanding += n;
		c->tx_generated += n;
		c->st.tx += n;
		c->st.tx_bytes += (uint64_t)n * c->cfg.pkt_size;
	} else {
		c->st.tx_ring_full++;
	}
}

/* ---- 統計 -------------------------------------------------------------------- */

static int xdp_stats(struct ctx *c, struct xdp_statistics *xs)
{
	socklen_t len = sizeof(*xs);

	memset(xs, 0, sizeof(*xs));
	return getsockopt(xsk_socket__fd(c->xsk), SOL_XDP, XDP_STATISTICS, xs, &len);
}

static void print_tick(struct ctx *c, double dt)
{
	struct xdp_statistics xs;
	char a[32], b[32], d[32], e[32];

	xdp_stats(c, &xs);
	printf("[統計] RX %s(%s pps)| TX %s(%s pps)| rx_dropped %llu rx_invalid %llu rx_ring_full %llu "
	       "fill_empty %llu tx_invalid %llu tx_ring_empty %llu\n",
	       commas(c->st.rx, a, sizeof(a)), commas((uint64_t)((c->st.rx - c->last.rx) / dt), b, sizeof(b)),
	       commas(c->st.tx, d, sizeof(d)), commas((uint64_t)((c->st.tx - c->last.tx) / dt), e, sizeof(e)),
	       (unsigned long long)xs.rx_dropped, (unsigned long long)xs.rx_invalid_descs,
	       (unsigned long long)xs.rx_ring_full, (unsigned long long)xs.rx_fill_ring_empty_descs,
	       (unsigned long long)xs.tx_invalid_descs, (unsigned long long)xs.tx_ring_empty_descs);
	fflush(stdout);
}

static void print_summary(struct ctx *c)
{
	struct xdp_statistics xs;
	double el = since(&c->start);
	struct rusage ru;
	char a[32], b[32];

	xdp_stats(c, &xs);
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
	printf("\n== 總結(%s 模式,%.1f 秒)==\n", mode_names[c->cfg.mode], el);
	printf("  收到 %s 個封包(平均 %.0f pps),送出 %s 個\n", commas(c->st.rx, a, sizeof(a)),
	       el > 0 ? c->st.rx / el : 0, commas(c->st.tx, b, sizeof(b)));
	if (c->cfg.mode == MODE_RESPOND)
		printf("  ARP 請求 %llu / 回覆 %llu;ICMP echo 請求 %llu / 回覆 %llu\n",
		       (unsigned long long)c->st.arp_requests, (unsigned long long)c->st.arp_replies,
		       (unsigned long long)c->st.icmp_requests, (unsigned long long)c->st.icmp_replies);
	printf("  丟棄:格式錯誤 %llu、不是給我們的 %llu、其他協定 %llu、IP 片段 %llu;VLAN 封包 %llu;TX ring 滿 %llu\n",
	       (unsigned long long)c->st.malformed, (unsigned long long)c->st.not_for_us,
	       (unsigned long long)c->st.other, (unsigned long long)c->st.fragments, (unsigned long long)c->st.vlan,
	       (unsigned long long)c->st.tx_ring_full);
	printf("  核心 XDP_STATISTICS:rx_dropped %llu、rx_invalid %llu、rx_ring_full %llu、fill_empty %llu、"
	       "tx_invalid %llu、tx_ring_empty %llu\n",
	       (unsigned long long)xs.rx_dropped, (unsigned long long)xs.rx_invalid_descs,
	       (unsigned long long)xs.rx_ring_full, (unsigned long long)xs.rx_fill_ring_empty_descs,
	       (unsigned long long)xs.tx_invalid_descs, (unsigned long long)xs.tx_ring_empty_descs);
	printf("SUMMARY prog=af_xdp_socket mode=%s rx=%llu tx=%llu rx_bytes=%llu tx_bytes=%llu arp_req=%llu "
	       "arp_reply=%llu icmp_req=%llu icmp_reply=%llu malformed=%llu not_for_us=%llu other=%llu "
	       "fragments=%llu vlan=%llu tx_ring_full=%llu rx_dropped=%llu rx_invalid=%llu rx_ring_full=%llu "
	       "fill_empty=%llu tx_invalid=%llu tx_ring_empty=%llu zerocopy=%d elapsed_s=%.3f cpu_s=%.3f\n",
	       mode_names[c->cfg.mode], (unsigned long long)c->st.rx, (unsigned long long)c->st.tx,
	       (unsigned long long)c->st.rx_bytes, (unsigned long long)c->st.tx_bytes,
	       (unsigned long long)c->st.arp_requests, (unsigned long long)c->st.arp_replies,
	       (unsigned long long)c->st.icmp_requests, (unsigned long long)c->st.icmp_replies,
	       (unsigned long long)c->st.malformed, (unsigned long long)c->st.not_for_us,
	       (unsigned long long)c->st.other, (unsigned long long)c->st.fragments, (unsigned long long)c->st.vlan,
	       (unsigned long long)c->st.tx_ring_full, (unsigned long long)xs.rx_dropped,
	       (unsigned long long)xs.rx_invalid_descs, (unsigned long long)xs.rx_ring_full,
	       (unsigned long long)xs.rx_fill_ring_empty_descs, (unsigned long long)xs.tx_invalid_descs,
	       (unsigned long long)xs.tx_ring_empty_descs, c->zerocopy, el, cpu);
	fflush(stdout);
}

/* ---- 主迴圈 ------------------------------------------------------------------ */

static void event_loop(struct ctx *c)
{
	struct pollfd pfd = { .fd = xsk_socket__fd(c->xsk), .events = POLLIN };
	uint64_t end_ns = c->cfg.duration > 0 ? now_ns() + (uint64_t)(c->cfg.duration * 1e9) : 0;
	unsigned iter = 0;

	c->tx_budget_t0_ns = now_ns();
	while (!stop_flag) {
		reap_completions(c);
		refill(c);
		if (c->cfg.poll_mode) {
			pfd.events = POLLIN | (c->tx_outstanding ? POLLOUT : 0);
			if (c->cfg.mode == MODE_TXONLY)
				pfd.events |= POLLOUT;
			if (poll(&pfd, 1, 100) < 0 && errno != EINTR)
				break;
		} else if (c->busy_poll_ok) {
			recvfrom(pfd.fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
		}
		handle_rx(c);
		if (c->cfg.mode == MODE_TXONLY)
			generate(c);
		kick_tx(c);

		if ((++iter & 255) == 0 || c->cfg.poll_mode) {
			double dt = since(&c->tick);
			if (dt >= 1.0) {
				if (!c->cfg.quiet)
					print_tick(c, dt);
				c->last = c->st;
				clock_gettime(CLOCK_MONOTONIC, &c->tick);
			}
			if (end_ns && now_ns() >= end_ns)
				break;
			if (c->cfg.mode == MODE_TXONLY && c->cfg.count && c->tx_generated >= c->cfg.count &&
			    !c->tx_outstanding)
				break;
		}
	}
	/* 等尚未完成的 TX(最多 1 秒) */
	uint64_t t = now_ns();
	while (c->tx_outstanding && now_ns() - t < 1000000000ull) {
		kick_tx(c);
		reap_completions(c);
	}
}

static void cleanup(struct ctx *c)
{
	xsk_teardown(c);
	detach_prog(c);
	if (c->umem_area)
		munmap(c->umem_area, c->umem_size);
	free(c->free_frames);
}

int main(int argc, char **argv)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct sigaction sa = { .sa_handler = on_signal };
	int rc = 1, nq;

	if (!c) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		return 1;
	}
	parse_args(argc, argv, &c->cfg);
	libbpf_set_print(lib_print);
	libxdp_set_print(xdp_print);
	/* 這個核心上 libxdp 的多程式 dispatcher 載入失敗(freplace),直接載入單一程式 */
	setenv("LIBXDP_SKIP_DISPATCHER", "1", 0);

	if (geteuid() != 0) {
		fprintf(stderr, "錯誤:AF_XDP 需要 root 權限(載入 XDP 程式、建立 XSK):sudo %s ...\n", argv[0]);
		goto out;
	}
	c->ifindex = (int)if_nametoindex(c->cfg.ifname);
	if (!c->ifindex) {
		fprintf(stderr, "錯誤:沒有名為「%s」的網路介面(用 ip link 列出可用介面)\n", c->cfg.ifname);
		goto out;
	}
	nq = count_rx_queues(c->cfg.ifname);
	if (nq > 0 && c->cfg.queue >= (unsigned)nq) {
		fprintf(stderr, "錯誤:佇列 %u 超出範圍:介面 %s 只有 %d 個 RX 佇列(ethtool -l %s)\n", c->cfg.queue,
			c->cfg.ifname, nq, c->cfg.ifname);
		goto out;
	}
	iface_info(c);
	if (c->cfg.mode == MODE_RESPOND && !c->cfg.ip_set) {
		fprintf(stderr, "錯誤:介面 %s 沒有 IPv4 位址,請以 --ip 指定要回答的位址\n", c->cfg.ifname);
		goto out;
	}

	/* 訊號:不設 SA_RESTART,poll 會以 EINTR 返回 */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN); /* 輸出被關掉(例如 | head)時也要走正常清理,卸下 XDP 程式 */
	if (c->cfg.cpu >= 0) {
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(c->cfg.cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			fprintf(stderr, "錯誤:無法把執行緒釘在 CPU %d:%s\n", c->cfg.cpu, strerror(errno));
			goto out;
		}
	}
	/* 新核心以 memcg 計算 UMEM;舊核心用 RLIMIT_MEMLOCK,拉高以免 ENOBUFS */
	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	setrlimit(RLIMIT_MEMLOCK, &rl);

	c->umem_size = (size_t)c->cfg.frames * c->cfg.frame_size;
	c->umem_area = mmap(NULL, c->umem_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c->free_frames = calloc(c->cfg.frames, sizeof(uint64_t));
	if (c->umem_area == MAP_FAILED || !c->free_frames) {
		c->umem_area = c->umem_area == MAP_FAILED ? NULL : c->umem_area;
		fprintf(stderr, "錯誤:無法配置 %zu 位元組的 UMEM:%s\n", c->umem_size, strerror(errno));
		goto out;
	}

	printf("AF_XDP %s 模式:介面 %s(ifindex %d)佇列 %u,UMEM %u × %u 位元組\n", mode_names[c->cfg.mode],
	       c->cfg.ifname, c->ifindex, c->cfg.queue, c->cfg.frames, c->cfg.frame_size);
	if (xsk_setup(c))
		goto out;
	if (c->cfg.mode == MODE_RESPOND) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &c->cfg.ip, ip, sizeof(ip));
		printf("回答 %s 的 ARP 與 ping(MAC %02x:%02x:%02x:%02x:%02x:%02x);其他封包丟棄並計數\n", ip,
		       c->if_mac[0], c->if_mac[1], c->if_mac[2], c->if_mac[3], c->if_mac[4], c->if_mac[5]);
	} else if (c->cfg.mode == MODE_TXONLY) {
		char s[INET_ADDRSTRLEN], d[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &c->cfg.src_ip, s, sizeof(s));
		inet_ntop(AF_INET, &c->cfg.dst_ip, d, sizeof(d));
		printf("產生 UDP %s:%u -> %s:%u,%u 位元組,%s\n", s, c->cfg.src_port, d, c->cfg.dst_port,
		       c->cfg.pkt_size, c->cfg.rate ? "限速" : "全速");
		build_template(c);
	}
	fflush(stdout);

	clock_gettime(CLOCK_MONOTONIC, &c->start);
	c->tick = c->start;
	event_loop(c);
	print_summary(c);
	rc = 0;
out:
	cleanup(c);
	free(c);
	return rc;
}
