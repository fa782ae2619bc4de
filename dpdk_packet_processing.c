// SPDX-License-Identifier: MIT
/*
 * dpdk_packet_processing.c — DPDK 封包處理器:有沒有網卡都能跑
 *
 * 示範什麼:
 *   DPDK 讓使用者空間的輪詢模式驅動程式(PMD)直接收送封包,完全不經過核心網路堆疊。
 *   本程式示範一個完整的 DPDK 應用程式的骨架:
 *     - EAL 初始化(lcore、記憶體、裝置),每個用到的 NUMA socket 一個 mbuf pool;
 *     - 以標準順序初始化每個連接埠(dev_info -> configure -> adjust_nb_rx_tx_desc ->
 *       RX/TX 佇列 -> start -> 混雜模式),檢查連結狀態;
 *     - 印出每個連接埠的驅動程式、佇列數、RSS 與 checksum offload,並且實際使用它們
 *       (多個 RX 佇列時以 RSS 分流、硬體已驗證的 IPv4 checksum 不再以軟體重算);
 *     - 以 rte_eal_mp_remote_launch 在每個 worker lcore 上執行輪詢迴圈,一個 RX 佇列一個 lcore;
 *     - 逐層檢查邊界的封包解析(Ethernet、VLAN/QinQ、ARP、IPv4、IPv6、TCP、UDP、ICMP/ICMPv6),
 *       每個連接埠各協定計數,外加 malformed(格式錯誤)計數;
 *     - 四種模式:fwd(0<->1、2<->3 成對轉送,如 l2fwd)、macswap(交換 MAC 後從同一埠送回)、
 *       rxonly(計數後丟棄)、respond(回應 ARP 與 ICMP echo,讓 ping 能穿過 DPDK);
 *     - 批次 TX,送不出去的 mbuf 釋放並計入 dropped;
 *     - 主 lcore 每隔一段時間印統計,SIGINT/SIGTERM 時印總結,停止並關閉連接埠,rte_eal_cleanup()。
 *
 * 需要:DPDK 22.11(Debian:libdpdk-dev),root 權限。沒有網卡時用虛擬裝置(vdev):
 *   net_null(無限產生封包的假裝置)、net_ring、net_pcap(讀寫 pcap 檔)、
 *   net_af_packet(綁在 Linux 介面上,例如 veth)、net_memif(與另一個 DPDK 行程以共享記憶體相連)。
 *   沒有 hugepage 時加 --no-huge -m 1024(程式會自動選擇放得下的 mbuf pool 大小)。
 *
 * 用法:
 *   sudo ./dpdk_packet_processing [EAL 參數] -- [程式選項]
 *   sudo ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 \
 *        --vdev=net_null0 --vdev=net_null1 -- --mode fwd
 *   sudo ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 \
 *        --vdev=net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap -- --mode macswap --duration 2
 *   sudo ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 \
 *        --vdev=net_af_packet0,iface=veth0 -- --mode respond --ip 0=10.0.0.1
 *   ./dpdk_packet_processing --help
 *
 * 一個指令試試看(不需要網卡,不需要 hugepage,5 秒後自動結束):
 *   sudo ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 --file-prefix=try \
 *        --vdev=net_null0 --vdev=net_null1 -- --mode macswap --duration 5
 *
 * 統計的意義(每 --stats-interval 秒一次):
 *   收 / 送 / 丟棄   本程式在這段時間收到、成功送出、以及釋放掉沒送出的封包數與每秒封包數(pps)
 *   imissed          網卡因 RX 佇列滿而丟掉的封包(程式處理不夠快)
 *   ierrors          網卡收到的錯誤封包
 *   rx_nombuf        mbuf pool 用完而收不進來的次數(pool 太小或 mbuf 洩漏)
 *   協定             arp ipv4 ipv6 tcp udp icmp icmpv6 vlan qinq other malformed
 *                    malformed = 任何一層標頭長度不足、長度欄位矛盾或 checksum 錯誤
 *   最後一行 SUMMARY key=value … 給腳本讀取(每個連接埠的計數與 pps)。
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#define EXIT_USAGE 64
#define MAX_BURST 512
#define MAX_RXQ 16
#define RX_DESC_DEFAULT 1024
#define TX_DESC_DEFAULT 1024
#define MBUF_CACHE 256
#define TX_RETRIES 3
#define LINK_WAIT_MS 2000
#define MAX_VLAN_TAGS 2

/* ---- 設定 -------------------------------------------------------------------- */

enum mode { MODE_FWD, MODE_MACSWAP, MODE_RXONLY, MODE_RESPOND };
static const char *const mode_names[] = { "fwd", "macswap", "rxonly", "respond" };

/* 使用者要求的設定(只在啟動時寫入) */
struct config {
	enum mode mode;
	uint64_t portmask;        /* 0 = 全部連接埠 */
	unsigned int burst;
	unsigned int rxq;
	unsigned int stats_interval; /* 秒;0 = 不印週期統計 */
	unsigned int duration;    /* 秒;0 = 直到 SIGINT/SIGTERM */
	uint64_t max_packets;     /* 收到這麼多封包後結束;0 = 不限 */
	bool parse;               /* 解析協定(預設開;respond 一定開) */
	rte_be32_t ip[RTE_MAX_ETHPORTS]; /* respond 模式每個連接埠的 IPv4 位址,0 = 未設定 */
};

/* 協定計數的索引:每個封包只會計入一個 L3 類別(或 malformed) */
enum proto {
	P_ARP, P_IPV4, P_IPV6, P_TCP, P_UDP, P_ICMP, P_ICMPV6, P_VLAN, P_QINQ, P_OTHER,
	P_MALFORMED, P_MAX
};
static const char *const proto_names[P_MAX] = {
	"arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6", "vlan", "qinq", "other", "malformed"
};

/* 一個 lcore 對一個連接埠的計數;只有該 lcore 寫入,主 lcore 讀取加總 */
struct port_counters {
	uint64_t rx, tx, dropped;
	uint64_t proto[P_MAX];
	uint64_t q_rx[MAX_RXQ];
} __rte_cache_aligned;

/* 一個 lcore 負責的 RX 佇列 */
struct rx_item {
	uint16_t port;
	uint16_t queue;
};

struct lcore_conf {
	unsigned int n_rx;
	struct rx_item rx[RTE_MAX_ETHPORTS * MAX_RXQ];
	uint16_t txq;             /* 這個 lcore 在每個連接埠上專用的 TX 佇列 */
	unsigned int idx;         /* 計數陣列的列 */
};

/* 每個連接埠初始化後的資訊 */
struct port_info {
	bool enabled;
	uint16_t peer;            /* fwd 模式的對應連接埠 */
	uint16_t nb_rxq, nb_txq;
	bool rx_ip_cksum;         /* 已啟用 RX IPv4 checksum offload */
	bool rx_l4_cksum;         /* 已啟用 RX TCP/UDP checksum offload */
	bool rss;
	struct rte_ether_addr mac;
	char name[RTE_ETH_NAME_MAX_LEN];
	char driver[64];
};

/* 程式執行時建立的一切 */
struct ctx {
	struct config cfg;
	struct port_info port[RTE_MAX_ETHPORTS];
	uint16_t ports[RTE_MAX_ETHPORTS]; /* 啟用的連接埠,依序 */
	unsigned int nb_ports;
	struct rte_mempool *pool[RTE_MAX_NUMA_NODES];
	struct lcore_conf lconf[RTE_MAX_LCORE];
	unsigned int nb_fwd_lcores;
	unsigned int nb_rows;     /* 計數陣列列數(lcore 數) */
	struct port_counters *cnt; /* [nb_rows][RTE_MAX_ETHPORTS] */
	uint64_t start_tsc, stop_tsc;
	uint64_t last_tsc;        /* 上次印統計的時間與計數(算每秒速率) */
	uint64_t last_rx[RTE_MAX_ETHPORTS], last_tx[RTE_MAX_ETHPORTS];
};

/* 唯一的可變全域變數:訊號處理函式設定的停止旗標 */
static volatile sig_atomic_t force_quit;

static void on_signal(int sig)
{
	(void)sig;
	force_quit = 1;
}

/* ---- 選項 -------------------------------------------------------------------- */

/* 選項表:getopt_long 的項目與 --help 文字放在一起 */
struct option_doc {
	struct option opt;
	const char *arg;
	const char *help;
};

enum { OPT_MODE = 256, OPT_BURST, OPT_RXQ, OPT_STATS, OPT_IP, OPT_DURATION, OPT_PACKETS,
       OPT_NO_PARSE };

static const struct option_doc options[] = {
	{ { "portmask", required_argument, NULL, 'p' }, "PORTMASK",
	  "使用的連接埠(十六進位位元遮罩,預設全部)" },
	{ { "mode", required_argument, NULL, OPT_MODE }, "MODE",
	  "fwd(0<->1、2<->3 成對轉送)| macswap(交換 MAC 從同一埠送回,預設)|\n"
	  "                          rxonly(計數後丟棄)| respond(回應 ARP 與 ICMP echo)" },
	{ { "burst", required_argument, NULL, OPT_BURST }, "N",
	  "每次 rx/tx burst 的封包數(1-512,預設 32)" },
	{ { "rxq", required_argument, NULL, OPT_RXQ }, "N",
	  "每個連接埠的 RX 佇列數(1-16,預設 1);>1 時以 RSS 分流,一個佇列一個 lcore" },
	{ { "stats-interval", required_argument, NULL, OPT_STATS }, "SEC",
	  "每隔幾秒印一次統計(0 = 不印,預設 1)" },
	{ { "ip", required_argument, NULL, OPT_IP }, "PORT=ADDR",
	  "respond 模式下連接埠 PORT 的 IPv4 位址(可重複)" },
	{ { "duration", required_argument, NULL, OPT_DURATION }, "SEC",
	  "執行幾秒後自動結束(0 = 直到 Ctrl-C,預設 0)" },
	{ { "packets", required_argument, NULL, OPT_PACKETS }, "N",
	  "總共收到 N 個封包後結束(0 = 不限)" },
	{ { "no-parse", no_argument, NULL, OPT_NO_PARSE }, NULL,
	  "不解析協定(只用於效能比較;respond 模式一定會解析)" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "顯示這份說明" },
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static void usage(const char *prog)
{
	size_t i;

	printf("用法:sudo %s [EAL 參數] -- [程式選項]\n\n", prog);
	printf("DPDK 封包處理器:以輪詢模式驅動程式收送封包,逐層解析並計數,\n"
	       "依模式轉送、送回或回應 ARP/ICMP。\n\n程式選項(放在 -- 之後):\n");
	for (i = 0; i < N_OPTIONS; i++) {
		char left[64];
		const struct option_doc *d = &options[i];

		if (d->opt.val < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", d->opt.val, d->opt.name,
				 d->arg ? " " : "", d->arg ? d->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", d->opt.name,
				 d->arg ? " " : "", d->arg ? d->arg : "");
		printf("  %-24s%s\n", left, d->help);
	}
	printf("\n常用 EAL 參數(放在 -- 之前):\n"
	       "  -l 0-1                  使用的 lcore(CPU);第一個是主 lcore,負責印統計\n"
	       "  --no-pci --vdev=net_null0 --vdev=net_null1   沒有網卡時使用虛擬裝置\n"
	       "  --no-huge -m 1024       不使用 hugepage(否則請先執行 sudo make setup-hugepages)\n"
	       "  --file-prefix=NAME      同時執行多個 DPDK 行程時各用不同名稱\n"
	       "\n例:\n"
	       "  sudo %s -l 0-1 --no-pci --no-huge -m 1024 --vdev=net_null0 --vdev=net_null1 \\\n"
	       "       -- --mode fwd --duration 5\n", prog);
}

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "錯誤:");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "(--help 看說明)\n");
	exit(EXIT_USAGE);
}

/* 嚴格的無號整數解析:整個字串都必須是數字,且在 [lo, hi] 內 */
static bool parse_uint(const char *s, unsigned long long lo, unsigned long long hi,
		       unsigned long long *out, int base)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || isspace((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, base);
	if (errno || *end || v < lo || v > hi)
		return false;
	*out = v;
	return true;
}

static void parse_ip_option(struct config *cfg, const char *arg)
{
	char buf[64];
	char *eq;
	unsigned long long port;
	struct in_addr a;

	if (strlen(arg) >= sizeof(buf))
		usage_error("--ip 參數太長:%s", arg);
	strcpy(buf, arg);
	eq = strchr(buf, '=');
	if (!eq)
		usage_error("--ip 格式應為 PORT=ADDR,得到「%s」", arg);
	*eq = '\0';
	if (!parse_uint(buf, 0, RTE_MAX_ETHPORTS - 1, &port, 10))
		usage_error("--ip 的連接埠編號無效(0-31):%s", arg);
	if (inet_pton(AF_INET, eq + 1, &a) != 1 || a.s_addr == 0)
		usage_error("--ip 的 IPv4 位址無效:%s", arg);
	cfg->ip[port] = a.s_addr;
}

/* 解析 -- 之後的程式選項;在 rte_eal_init 之前呼叫,錯誤時結束碼 64 */
static void parse_app_args(struct config *cfg, int argc, char **argv, const char *prog)
{
	struct option longopts[N_OPTIONS + 1];
	unsigned long long v;
	bool have_ip = false;
	size_t i;
	int c;

	for (i = 0; i < N_OPTIONS; i++)
		longopts[i] = options[i].opt;
	memset(&longopts[N_OPTIONS], 0, sizeof(longopts[0]));

	cfg->mode = MODE_MACSWAP;
	cfg->burst = 32;
	cfg->rxq = 1;
	cfg->stats_interval = 1;
	cfg->parse = true;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			if (!parse_uint(optarg, 1, UINT32_MAX, &v, 16))
				usage_error("連接埠遮罩無效(十六進位,不可為 0):%s", optarg);
			cfg->portmask = v;
			break;
		case OPT_MODE:
			for (i = 0; i < RTE_DIM(mode_names); i++)
				if (!strcmp(optarg, mode_names[i]))
					break;
			if (i == RTE_DIM(mode_names))
				usage_error("不認得的模式「%s」,可用:fwd macswap rxonly respond", optarg);
			cfg->mode = (enum mode)i;
			break;
		case OPT_BURST:
			if (!parse_uint(optarg, 1, MAX_BURST, &v, 10))
				usage_error("--burst 必須是 1-512:%s", optarg);
			cfg->burst = v;
			break;
		case OPT_RXQ:
			if (!parse_uint(optarg, 1, MAX_RXQ, &v, 10))
				usage_error("--rxq 必須是 1-16:%s", optarg);
			cfg->rxq = v;
			break;
		case OPT_STATS:
			if (!parse_uint(optarg, 0, 3600, &v, 10))
				usage_error("--stats-interval 必須是 0-3600 秒:%s", optarg);
			cfg->stats_interval = v;
			break;
		case OPT_DURATION:
			if (!parse_uint(optarg, 0, 86400 * 365, &v, 10))
				usage_error("--duration 必須是非負整數秒數:%s", optarg);
			cfg->duration = v;
			break;
		case OPT_PACKETS:
			if (!parse_uint(optarg, 0, UINT64_MAX / 2, &v, 10))
				usage_error("--packets 必須是非負整數:%s", optarg);
			cfg->max_packets = v;
			break;
		case OPT_IP:
			parse_ip_option(cfg, optarg);
			have_ip = true;
			break;
		case OPT_NO_PARSE:
			cfg->parse = false;
			break;
		case 'h':
			usage(prog);
			exit(0);
		case ':':
			usage_error("選項 %s 需要參數", argv[optind - 1]);
			break;
		default:
			usage_error("不認得的選項「%s」", argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("多餘的參數「%s」", argv[optind]);
	if (cfg->mode == MODE_RESPOND && !have_ip)
		usage_error("respond 模式需要至少一個 --ip PORT=ADDR%s", "");
	if (cfg->mode != MODE_RESPOND && have_ip)
		usage_error("--ip 只用於 respond 模式%s", "");
	if (cfg->mode == MODE_RESPOND)
		cfg->parse = true;
}

/* ---- 啟動前檢查:在 EAL 之前找出常見的環境問題,給出中文提示 ------------------------------ */

static bool has_arg(int argc, char **argv, const char *name)
{
	size_t n = strlen(name);

	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], name, n) && (argv[i][n] == '\0' || argv[i][n] == '='))
			return true;
	return false;
}

/* 取得 -l / -c 指定的 CPU 清單,回報不在本行程可用 CPU 中的那些 */
static int check_lcores(int argc, char **argv, char *bad, size_t badlen)
{
	cpu_set_t avail;
	bool want[CPU_SETSIZE] = { false };
	int nbad = 0;

	if (sched_getaffinity(0, sizeof(avail), &avail))
		return 0;
	for (int i = 1; i < argc - 1; i++) {
		const char *s = argv[i + 1];

		if (!strcmp(argv[i], "-l")) {
			/* 格式:0-3,5 */
			while (*s) {
				char *end;
				long a = strtol(s, &end, 10), b;

				if (end == s)
					return 0; /* 讓 EAL 自己報錯 */
				b = a;
				if (*end == '-')
					b = strtol(end + 1, &end, 10);
				for (long k = a; k <= b && k >= 0 && k < CPU_SETSIZE; k++)
					want[k] = true;
				if (*end == ',')
					end++;
				else if (*end)
					return 0;
				s = end;
			}
		} else if (!strcmp(argv[i], "-c")) {
			unsigned long long m = strtoull(s, NULL, 16);

			for (int k = 0; k < 64; k++)
				if (m & (1ULL << k))
					want[k] = true;
		}
	}
	bad[0] = '\0';
	for (int k = 0; k < CPU_SETSIZE; k++) {
		if (want[k] && !CPU_ISSET(k, &avail)) {
			size_t len = strlen(bad);

			snprintf(bad + len, badlen - len, "%s%d", nbad ? "," : "", k);
			nbad++;
		}
	}
	return nbad;
}

static unsigned long free_hugepages(void)
{
	unsigned long total = 0;
	DIR *d = opendir("/sys/kernel/mm/hugepages");
	struct dirent *e;

	if (!d)
		return 0;
	while ((e = readdir(d))) {
		char path[512];
		unsigned long n = 0;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/%s/free_hugepages", e->d_name);
		f = fopen(path, "r");
		if (f) {
			if (fscanf(f, "%lu", &n) == 1)
				total += n;
			fclose(f);
		}
	}
	closedir(d);
	return total;
}

static bool hugetlbfs_mounted(void)
{
	char line[512];
	bool found = false;
	FILE *f = fopen("/proc/mounts", "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, " hugetlbfs ") != NULL;
	fclose(f);
	return found;
}

/* 有沒有綁在 DPDK 可用驅動程式(vfio-pci、uio)上的 PCI 裝置 */
static bool dpdk_bound_nic(void)
{
	static const char *const drivers[] = { "vfio-pci", "uio_pci_generic", "igb_uio" };

	for (size_t i = 0; i < RTE_DIM(drivers); i++) {
		char path[128];
		DIR *d;
		struct dirent *e;
		bool found = false;

		snprintf(path, sizeof(path), "/sys/bus/pci/drivers/%s", drivers[i]);
		d = opendir(path);
		if (!d)
			continue;
		while ((e = readdir(d)))
			if (isdigit((unsigned char)e->d_name[0]) && strchr(e->d_name, ':'))
				found = true;
		closedir(d);
		if (found)
			return true;
	}
	return false;
}

/* 回傳 0 = 可以繼續;否則已印出所有問題與提示 */
static int precheck(int eal_argc, char **argv)
{
	char bad[256];
	int problems = 0;

	if (geteuid() != 0) {
		fprintf(stderr, "錯誤:需要 root 權限(DPDK 要存取 hugepage、/var/run/dpdk 與裝置),"
				"請用 sudo 執行\n");
		return 1;
	}
	if (check_lcores(eal_argc, argv, bad, sizeof(bad)) > 0) {
		fprintf(stderr, "錯誤:lcore %s 不存在或不可用(本機有 %ld 個 CPU);"
				"請改用例如 -l 0-%ld\n", bad, sysconf(_SC_NPROCESSORS_ONLN),
			sysconf(_SC_NPROCESSORS_ONLN) - 1);
		problems++;
	}
	if (!has_arg(eal_argc, argv, "--no-huge") &&
	    (free_hugepages() == 0 || !hugetlbfs_mounted())) {
		fprintf(stderr, "錯誤:沒有可用的 hugepage%s;請執行 sudo make setup-hugepages,"
				"或在 EAL 參數加上 --no-huge -m 1024\n",
			free_hugepages() ? "(hugetlbfs 未掛載)" : "");
		problems++;
	}
	if (problems && !has_arg(eal_argc, argv, "--vdev") && !dpdk_bound_nic())
		fprintf(stderr, "提示:也找不到任何 DPDK 可用的連接埠:請以 dpdk-devbind.py --bind=vfio-pci "
				"綁定網卡,或加上 --no-pci --vdev=net_null0 --vdev=net_null1 使用虛擬裝置\n");
	return problems;
}

/* ---- 啟動:mbuf pool、連接埠 ---------------------------------------------------------- */

static int port_socket(uint16_t port)
{
	int s = rte_eth_dev_socket_id(port);

	return s < 0 ? (int)rte_socket_id() : s;
}

/*
 * 每個用到的 socket 建一個 mbuf pool。大小 = 所有 RX/TX 描述子 + 每個 lcore 的 burst 與 cache,
 * 再留一倍餘裕,至少 8191 個;記憶體不夠(例如 --no-huge -m 很小)時逐步縮小到最低需求。
 */
static int create_pools(struct ctx *c, unsigned int nb_rxd, unsigned int nb_txd)
{
	unsigned int nb_lcores = rte_lcore_count();
	unsigned int need = c->nb_ports * (c->cfg.rxq * nb_rxd + c->nb_fwd_lcores * nb_txd) +
			    nb_lcores * (c->cfg.burst * 2 + MBUF_CACHE);
	unsigned int want = RTE_MAX(need * 2, 8191u);

	for (unsigned int i = 0; i < c->nb_ports; i++) {
		int s = port_socket(c->ports[i]);
		char name[RTE_MEMPOOL_NAMESIZE];
		unsigned int n;

		if (c->pool[s])
			continue;
		snprintf(name, sizeof(name), "mbuf_pool_s%d", s);
		for (n = want;; n = RTE_MAX(n / 2, need)) {
			c->pool[s] = rte_pktmbuf_pool_create(name, n, MBUF_CACHE, 0,
							     RTE_MBUF_DEFAULT_BUF_SIZE, s);
			if (c->pool[s] || n == need || rte_errno != ENOMEM)
				break;
		}
		if (!c->pool[s]) {
			fprintf(stderr, "錯誤:無法建立 mbuf pool(socket %d,%u 個 mbuf):%s;"
					"記憶體不足:請執行 sudo make setup-hugepages 或加大 -m\n",
				s, n, rte_strerror(rte_errno));
			return -1;
		}
		printf("mbuf pool:socket %d,%u 個 mbuf(至少需要 %u),每個 %u 位元組\n", s, n, need,
		       RTE_MBUF_DEFAULT_BUF_SIZE);
	}
	return 0;
}

static void describe_port(uint16_t port, const struct rte_eth_dev_info *di,
			  const struct port_info *pi)
{
	char mac[RTE_ETHER_ADDR_FMT_SIZE];

	rte_ether_format_addr(mac, sizeof(mac), &pi->mac);
	printf("連接埠 %u:%s(驅動程式 %s),MAC %s\n", port, pi->name, pi->driver, mac);
	printf("  佇列:最多 RX %u / TX %u,使用 RX %u / TX %u;RSS 雜湊類型 0x%" PRIx64
	       "(%s),RETA %u\n",
	       di->max_rx_queues, di->max_tx_queues, pi->nb_rxq, pi->nb_txq,
	       di->flow_type_rss_offloads, pi->rss ? "已啟用" : "未使用", di->reta_size);
	printf("  offload:RX IPv4 checksum %s、TCP/UDP checksum %s、RSS hash %s;"
	       "TX IPv4 checksum %s、TCP/UDP checksum %s\n",
	       di->rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM ? "有(使用)" : "無(軟體驗證)",
	       di->rx_offload_capa & (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM) ?
		       "有(使用)" : "無",
	       di->rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH ? "有" : "無",
	       di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM ? "有" : "無",
	       di->tx_offload_capa & (RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM) ?
		       "有" : "無");
}

/* 標準順序:dev_info -> configure -> adjust_nb_rx_tx_desc -> 佇列 -> start -> 混雜模式 */
static int port_init(struct ctx *c, uint16_t port)
{
	struct port_info *pi = &c->port[port];
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info di;
	struct rte_eth_rxconf rxconf;
	struct rte_eth_txconf txconf;
	uint16_t nb_rxd = RX_DESC_DEFAULT, nb_txd = TX_DESC_DEFAULT;
	struct rte_mempool *pool = c->pool[port_socket(port)];
	int ret;

	ret = rte_eth_dev_info_get(port, &di);
	if (ret) {
		fprintf(stderr, "錯誤:連接埠 %u rte_eth_dev_info_get:%s\n", port, strerror(-ret));
		return ret;
	}
	snprintf(pi->driver, sizeof(pi->driver), "%s", di.driver_name);
	rte_eth_dev_get_name_by_port(port, pi->name);
	pi->nb_rxq = c->cfg.rxq;
	pi->nb_txq = c->nb_fwd_lcores;
	if (pi->nb_rxq > di.max_rx_queues || pi->nb_txq > di.max_tx_queues) {
		fprintf(stderr, "錯誤:連接埠 %u(%s)最多 %u 個 RX / %u 個 TX 佇列,"
				"需要 %u / %u;請減少 --rxq 或 lcore 數\n",
			port, pi->driver, di.max_rx_queues, di.max_tx_queues, pi->nb_rxq, pi->nb_txq);
		return -EINVAL;
	}

	/* 多個 RX 佇列:網卡支援 RSS 就讓硬體依 IP/TCP/UDP 雜湊分流 */
	if (pi->nb_rxq > 1 && di.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
						   di.flow_type_rss_offloads;
		if (!conf.rx_adv_conf.rss_conf.rss_hf)
			conf.rx_adv_conf.rss_conf.rss_hf = di.flow_type_rss_offloads;
		pi->rss = true;
		if (di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_RSS_HASH)
			conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_RSS_HASH;
	} else if (pi->nb_rxq > 1) {
		printf("注意:連接埠 %u(%s)不支援 RSS,%u 個 RX 佇列由 PMD 自己分配"
		       "(net_af_packet 用 PACKET_FANOUT 雜湊)\n", port, pi->driver, pi->nb_rxq);
	}
	/* 硬體會驗證 checksum 就用它,解析時不再以軟體重算 */
	if (di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
		pi->rx_ip_cksum = true;
	}
	if ((di.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) ==
	    (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		pi->rx_l4_cksum = true;
	}
	if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;

	ret = rte_eth_dev_configure(port, pi->nb_rxq, pi->nb_txq, &conf);
	if (ret) {
		fprintf(stderr, "錯誤:連接埠 %u rte_eth_dev_configure:%s\n", port, strerror(-ret));
		return ret;
	}
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nb_rxd, &nb_txd);
	if (ret) {
		fprintf(stderr, "錯誤:連接埠 %u 調整描述子數量:%s\n", port, strerror(-ret));
		return ret;
	}
	rxconf = di.default_rxconf;
	rxconf.offloads = conf.rxmode.offloads;
	for (uint16_t q = 0; q < pi->nb_rxq; q++) {
		ret = rte_eth_rx_queue_setup(port, q, nb_rxd, port_socket(port), &rxconf, pool);
		if (ret) {
			fprintf(stderr, "錯誤:連接埠 %u RX 佇列 %u 設定失敗:%s\n", port, q,
				strerror(-ret));
			return ret;
		}
	}
	txconf = di.default_txconf;
	txconf.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < pi->nb_txq; q++) {
		ret = rte_eth_tx_queue_setup(port, q, nb_txd, port_socket(port), &txconf);
		if (ret) {
			fprintf(stderr, "錯誤:連接埠 %u TX 佇列 %u 設定失敗:%s\n", port, q,
				strerror(-ret));
			return ret;
		}
	}
	ret = rte_eth_dev_start(port);
	if (ret) {
		fprintf(stderr, "錯誤:連接埠 %u 啟動失敗:%s\n", port, strerror(-ret));
		return ret;
	}
	rte_eth_macaddr_get(port, &pi->mac);
	/* 有些虛擬裝置不支援混雜模式,不算致命錯誤 */
	ret = rte_eth_promiscuous_enable(port);
	if (ret && ret != -ENOTSUP)
		printf("注意:連接埠 %u 無法開啟混雜模式:%s\n", port, strerror(-ret));
	describe_port(port, &di, pi);
	return 0;
}

/* 等連結建立(最多 LINK_WAIT_MS),印出每個連接埠的狀態;memif 要等對端連上才會 up */
static void check_link_status(struct ctx *c)
{
	struct rte_eth_link link;
	unsigned int waited = 0;
	bool all_up;

	do {
		all_up = true;
		for (unsigned int i = 0; i < c->nb_ports; i++) {
			memset(&link, 0, sizeof(link));
			if (rte_eth_link_get_nowait(c->ports[i], &link) == 0 &&
			    link.link_status == RTE_ETH_LINK_DOWN)
				all_up = false;
		}
		if (all_up || force_quit)
			break;
		rte_delay_ms(100);
		waited += 100;
	} while (waited < LINK_WAIT_MS);

	for (unsigned int i = 0; i < c->nb_ports; i++) {
		memset(&link, 0, sizeof(link));
		if (rte_eth_link_get_nowait(c->ports[i], &link)) {
			printf("連接埠 %u 連結狀態:無法取得\n", c->ports[i]);
			continue;
		}
		printf("連接埠 %u 連結狀態:%s,%u Mbps,%s%s\n", c->ports[i],
		       link.link_status ? "up" : "down", link.link_speed,
		       link.link_duplex ? "全雙工" : "半雙工",
		       link.link_status ? "" : "(仍在等待,例如 memif 的對端尚未連上)");
	}
}

/* 把 (連接埠, RX 佇列) 平均分給 worker lcore;worker 不夠時主 lcore 也分擔 */
static int assign_lcores(struct ctx *c)
{
	unsigned int workers[RTE_MAX_LCORE], nw = 0, lid, total, k = 0;
	unsigned int main_lcore = rte_get_main_lcore();

	RTE_LCORE_FOREACH_WORKER(lid)
		workers[nw++] = lid;
	total = c->nb_ports * c->cfg.rxq;
	if (nw < total)
		workers[nw++] = main_lcore; /* 主 lcore 在統計之間也輪詢佇列 */
	c->nb_fwd_lcores = RTE_MIN(nw, total);
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		for (unsigned int q = 0; q < c->cfg.rxq; q++) {
			struct lcore_conf *lc = &c->lconf[workers[k % c->nb_fwd_lcores]];

			lc->rx[lc->n_rx].port = c->ports[i];
			lc->rx[lc->n_rx].queue = q;
			lc->n_rx++;
			k++;
		}
	}
	for (unsigned int i = 0; i < c->nb_fwd_lcores; i++)
		c->lconf[workers[i]].txq = i;
	RTE_LCORE_FOREACH(lid)
		c->lconf[lid].idx = rte_lcore_index(lid);
	return 0;
}

/* ---- 資料路徑:解析 -------------------------------------------------------------------- */

/* 解析結果:只有 valid 時協定計數才生效 */
struct parsed {
	bool malformed;
	uint8_t tags;             /* VLAN 標籤數 */
	uint16_t l3_type;         /* host 位元組順序的 EtherType */
	uint16_t l3_off;
	uint8_t l4_proto;         /* 0 = 沒有 L4 */
	uint16_t l4_off;
	uint16_t l4_len;
	bool fragment;           /* 非第一個片段:沒有 L4 標頭 */
	bool first_frag;
};

static inline bool ipv6_ext_hdr(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT;
}

/* 驗證 L4 標頭;回傳 false 表示格式錯誤 */
static inline bool parse_l4(const uint8_t *p, struct parsed *r, uint64_t ol_flags, bool hw_l4)
{
	const uint8_t *l4 = p + r->l4_off;
	uint16_t len = r->l4_len;

	if (r->fragment)
		return true; /* 非第一片段:沒有 L4 標頭 */
	switch (r->l4_proto) {
	case IPPROTO_TCP:
		if (len < sizeof(struct rte_tcp_hdr))
			return false;
		if ((l4[12] >> 4) < 5 || (unsigned int)(l4[12] >> 4) * 4 > len)
			return false;
		break;
	case IPPROTO_UDP: {
		uint16_t ulen;

		if (len < sizeof(struct rte_udp_hdr))
			return false;
		ulen = (uint16_t)(l4[4] << 8 | l4[5]);
		if (ulen < sizeof(struct rte_udp_hdr) || ulen > len)
			return false;
		break;
	}
	case IPPROTO_ICMP:
		if (len < sizeof(struct rte_icmp_hdr))
			return false;
		/* ICMP 很少,直接以軟體驗證 checksum(涵蓋整個訊息) */
		if (!r->first_frag && rte_raw_cksum(l4, len) != 0xffff)
			return false;
		break;
	case IPPROTO_ICMPV6:
		if (len < 4)
			return false;
		break;
	default:
		r->l4_proto = 0; /* 其他 L4 協定只計 L3 */
		return true;
	}
	if (hw_l4 && (ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return false;
	return true;
}

/*
 * 逐層解析;每一次讀取之前都先確認長度足夠。
 * len 是第一個 segment 的資料長度(本程式的 mbuf 可放下完整的 1518 位元組訊框)。
 */
static inline void parse_packet(const uint8_t *p, uint32_t len, uint64_t ol_flags,
				const struct port_info *pi, struct parsed *r)
{
	uint32_t off = sizeof(struct rte_ether_hdr);
	uint16_t type;

	memset(r, 0, sizeof(*r));
	r->malformed = true;
	if (len < sizeof(struct rte_ether_hdr))
		return;
	type = (uint16_t)(p[12] << 8 | p[13]);
	while (type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ) {
		if (r->tags == MAX_VLAN_TAGS || len < off + 4)
			return;
		type = (uint16_t)(p[off + 2] << 8 | p[off + 3]);
		off += 4;
		r->tags++;
	}
	r->l3_type = type;
	r->l3_off = off;

	switch (type) {
	case RTE_ETHER_TYPE_ARP: {
		const struct rte_arp_hdr *a = (const void *)(p + off);

		if (len < off + sizeof(*a) || a->arp_hlen != RTE_ETHER_ADDR_LEN || a->arp_plen != 4)
			return;
		break;
	}
	case RTE_ETHER_TYPE_IPV4: {
		const struct rte_ipv4_hdr *ip = (const void *)(p + off);
		uint32_t ihl, tot;

		if (len < off + sizeof(*ip) || (ip->version_ihl >> 4) != 4)
			return;
		ihl = (ip->version_ihl & 0xf) * 4u;
		tot = rte_be_to_cpu_16(ip->total_length);
		if (ihl < sizeof(*ip) || len < off + ihl || tot < ihl || len < off + tot)
			return;
		/* 網卡已驗證就看旗標,否則以軟體計算標頭 checksum */
		if (pi->rx_ip_cksum &&
		    (ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) != RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN) {
			if ((ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD)
				return;
		} else if (rte_raw_cksum(ip, ihl) != 0xffff) {
			return;
		}
		r->fragment = (rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_OFFSET_MASK) != 0;
		r->l4_proto = ip->next_proto_id;
		r->l4_off = off + ihl;
		r->l4_len = tot - ihl;
			/* 第一個片段(MF=1):L4 標頭在,但 checksum 涵蓋整個資料包,無法驗證 */
		r->first_frag = !r->fragment &&
				(rte_be_to_cpu_16(ip->fragment_offset) & RTE_IPV4_HDR_MF_FLAG);
		if (!parse_l4(p, r, ol_flags, pi->rx_l4_cksum))
			return;
		break;
	}
	case RTE_ETHER_TYPE_IPV6: {
		const struct rte_ipv6_hdr *ip6 = (const void *)(p + off);
		uint32_t plen, end, hoff;
		uint8_t nh;

		if (len < off + sizeof(*ip6) || (p[off] >> 4) != 6)
			return;
		plen = rte_be_to_cpu_16(ip6->payload_len);
		end = off + sizeof(*ip6) + plen;
		if (plen == 0 || len < end)
			return;
		nh = ip6->proto;
		hoff = off + sizeof(*ip6);
		/* 擴充標頭:每個至少 8 位元組,長度欄位以 8 位元組為單位 */
		while (ipv6_ext_hdr(nh)) {
			uint32_t elen;

			if (end < hoff + 8)
				return;
			if (nh == IPPROTO_FRAGMENT) {
				elen = 8;
				if ((p[hoff + 2] << 8 | p[hoff + 3]) & 0xfff8)
					r->fragment = true;
			} else {
				elen = (p[hoff + 1] + 1u) * 8;
			}
			if (end < hoff + elen)
				return;
			nh = p[hoff];
			hoff += elen;
		}
		r->l4_proto = nh;
		r->l4_off = hoff;
		r->l4_len = end - hoff;
		if (nh == IPPROTO_ICMP)
			r->l4_proto = 0; /* IPv6 裡的 ICMPv4 不合理,只計 IPv6 */
		if (!parse_l4(p, r, ol_flags, pi->rx_l4_cksum))
			return;
		break;
	}
	default:
		break;
	}
	r->malformed = false;
}

static inline void count_packet(struct port_counters *pc, const struct parsed *r)
{
	if (r->malformed) {
		pc->proto[P_MALFORMED]++;
		return;
	}
	if (r->tags == 1)
		pc->proto[P_VLAN]++;
	else if (r->tags == 2)
		pc->proto[P_QINQ]++;
	switch (r->l3_type) {
	case RTE_ETHER_TYPE_ARP:
		pc->proto[P_ARP]++;
		return;
	case RTE_ETHER_TYPE_IPV4:
		pc->proto[P_IPV4]++;
		break;
	case RTE_ETHER_TYPE_IPV6:
		pc->proto[P_IPV6]++;
		break;
	default:
		pc->proto[P_OTHER]++;
		return;
	}
	if (r->fragment)
		return;
	switch (r->l4_proto) {
	case IPPROTO_TCP:
		pc->proto[P_TCP]++;
		break;
	case IPPROTO_UDP:
		pc->proto[P_UDP]++;
		break;
	case IPPROTO_ICMP:
		pc->proto[P_ICMP]++;
		break;
	case IPPROTO_ICMPV6:
		pc->proto[P_ICMPV6]++;
		break;
	}
}

/* ---- 資料路徑:回應 ARP 與 ICMP echo ------------------------------------------------------ */

/* 是要給我們的 ARP request 就就地改寫成 reply,回傳 true */
static inline bool make_arp_reply(uint8_t *p, const struct parsed *r, rte_be32_t ip,
				  const struct rte_ether_addr *mac)
{
	struct rte_ether_hdr *eth = (void *)p;
	struct rte_arp_hdr *a = (void *)(p + r->l3_off);

	if (a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
	    a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
	    a->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) || a->arp_data.arp_tip != ip)
		return false;
	eth->dst_addr = a->arp_data.arp_sha;
	eth->src_addr = *mac;
	a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
	a->arp_data.arp_tha = a->arp_data.arp_sha;
	a->arp_data.arp_tip = a->arp_data.arp_sip;
	a->arp_data.arp_sha = *mac;
	a->arp_data.arp_sip = ip;
	return true;
}

/* 是給我們的 ICMP echo request 就就地改寫成 echo reply */
static inline bool make_icmp_reply(uint8_t *p, const struct parsed *r, rte_be32_t ip,
				   const struct rte_ether_addr *mac)
{
	struct rte_ether_hdr *eth = (void *)p;
	struct rte_ipv4_hdr *ih = (void *)(p + r->l3_off);
	struct rte_icmp_hdr *icmp = (void *)(p + r->l4_off);
	rte_be32_t tmp;

	if (r->fragment || ih->dst_addr != ip || icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST ||
	    icmp->icmp_code != 0 || (rte_be_to_cpu_16(ih->fragment_offset) & RTE_IPV4_HDR_MF_FLAG))
		return false;
	eth->dst_addr = eth->src_addr;
	eth->src_addr = *mac;
	/* 交換位址不改變 IPv4 標頭的 checksum(加總的是同樣的 16 位元字) */
	tmp = ih->src_addr;
	ih->src_addr = ih->dst_addr;
	ih->dst_addr = tmp;
	icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
	icmp->icmp_cksum = 0;
	icmp->icmp_cksum = (uint16_t)~rte_raw_cksum(icmp, r->l4_len);
	return true;
}

/* ---- 資料路徑:每個 lcore 的輪詢迴圈 ------------------------------------------------------- */

/* 批次送出;重試幾次後仍送不出的 mbuf 釋放並計入 dropped */
static inline void send_batch(uint16_t port, uint16_t txq, struct rte_mbuf **m, uint16_t n,
			      struct port_counters *pc)
{
	uint16_t sent = 0;

	for (int retry = 0; sent < n && retry <= TX_RETRIES; retry++)
		sent += rte_eth_tx_burst(port, txq, m + sent, n - sent);
	pc->tx += sent;
	if (sent < n) {
		pc->dropped += n - sent;
		rte_pktmbuf_free_bulk(m + sent, n - sent);
	}
}

static void handle_burst(struct ctx *c, struct lcore_conf *lc, uint16_t port, uint16_t q,
			 struct rte_mbuf **pkts, uint16_t nb)
{
	const struct config *cfg = &c->cfg;
	const struct port_info *pi = &c->port[port];
	struct port_counters *pc = &c->cnt[lc->idx * RTE_MAX_ETHPORTS + port];
	struct rte_mbuf *out[MAX_BURST], *drop[MAX_BURST];
	uint16_t n_out = 0, n_drop = 0, dst = port;
	struct parsed r;

	pc->rx += nb;
	pc->q_rx[q] += nb;
	if (cfg->mode == MODE_FWD) {
		dst = pi->peer;
		/* 不解析的 fwd 不需要碰封包內容:整個 burst 原樣送到對應連接埠 */
		if (!cfg->parse) {
			send_batch(dst, lc->txq, pkts, nb,
				   &c->cnt[lc->idx * RTE_MAX_ETHPORTS + dst]);
			return;
		}
	}
	/* 不解析的 macswap:一趟就地交換 MAC,送出陣列直接重用 pkts */
	if (cfg->mode == MODE_MACSWAP && !cfg->parse) {
		for (uint16_t i = 0; i < nb; i++) {
			struct rte_mbuf *m = pkts[i];
			struct rte_ether_hdr *eth = rte_pktmbuf_mtod(m, void *);
			struct rte_ether_addr t;

			if (unlikely(rte_pktmbuf_data_len(m) < sizeof(*eth))) {
				pc->dropped++;
				drop[n_drop++] = m;
				continue;
			}
			t = eth->dst_addr;
			eth->dst_addr = eth->src_addr;
			eth->src_addr = t;
			pkts[n_out++] = m;
		}
		if (n_out)
			send_batch(port, lc->txq, pkts, n_out, pc);
		if (n_drop)
			rte_pktmbuf_free_bulk(drop, n_drop);
		return;
	}

	for (uint16_t i = 0; i < nb; i++) {
		struct rte_mbuf *m = pkts[i];
		uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
		uint32_t len = rte_pktmbuf_data_len(m);

		if (i + 1 < nb)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + 1], void *));
		if (cfg->parse) {
			parse_packet(p, len, m->ol_flags, pi, &r);
			count_packet(pc, &r);
		}
		switch (cfg->mode) {
		case MODE_RXONLY:
			drop[n_drop++] = m;
			continue;
		case MODE_RESPOND:
			if (!r.malformed && cfg->ip[port] &&
			    ((r.l3_type == RTE_ETHER_TYPE_ARP &&
			      make_arp_reply(p, &r, cfg->ip[port], &pi->mac)) ||
			     (r.l3_type == RTE_ETHER_TYPE_IPV4 && r.l4_proto == IPPROTO_ICMP &&
			      make_icmp_reply(p, &r, cfg->ip[port], &pi->mac))))
				out[n_out++] = m;
			else
				drop[n_drop++] = m; /* 不是給我們的:釋放,不算 dropped */
			continue;
		case MODE_MACSWAP:
		case MODE_FWD:
			if (len < sizeof(struct rte_ether_hdr)) {
				/* 太短,連 MAC 都沒有:不送出,計入 dropped */
				pc->dropped++;
				drop[n_drop++] = m;
				continue;
			}
			if (cfg->mode == MODE_MACSWAP) {
				struct rte_ether_hdr *eth = (void *)p;
				struct rte_ether_addr t = eth->dst_addr;

				eth->dst_addr = eth->src_addr;
				eth->src_addr = t;
			}
			out[n_out++] = m;
			continue;
		}
	}
	if (n_out) {
		struct port_counters *dc = &c->cnt[lc->idx * RTE_MAX_ETHPORTS + dst];

		send_batch(dst, lc->txq, out, n_out, dc);
	}
	if (n_drop)
		rte_pktmbuf_free_bulk(drop, n_drop);
}

static void print_stats(struct ctx *c, bool final);

/* 每個 lcore 執行這個函式;主 lcore 另外負責計時與統計 */
static int lcore_main(void *arg)
{
	struct ctx *c = arg;
	unsigned int lid = rte_lcore_id();
	struct lcore_conf *lc = &c->lconf[lid];
	bool is_main = lid == rte_get_main_lcore();
	uint64_t hz = rte_get_timer_hz(), next_stats = UINT64_MAX, deadline = UINT64_MAX;
	struct rte_mbuf *pkts[MAX_BURST];

	if (is_main) {
		next_stats = c->start_tsc + c->cfg.stats_interval * hz;
		if (c->cfg.duration)
			deadline = c->start_tsc + c->cfg.duration * hz;
	}
	if (lc->n_rx) {
		printf("lcore %u 輪詢 %u 個佇列(TX 佇列 %u)\n", lid, lc->n_rx, lc->txq);
		fflush(stdout);
	}

	while (!force_quit) {
		for (unsigned int i = 0; i < lc->n_rx; i++) {
			uint16_t port = lc->rx[i].port, q = lc->rx[i].queue;
			uint16_t nb = rte_eth_rx_burst(port, q, pkts, c->cfg.burst);

			if (nb)
				handle_burst(c, lc, port, q, pkts, nb);
		}
		if (!is_main)
			continue;
		/* 主 lcore:計時、--packets 上限、週期統計 */
		uint64_t now = rte_rdtsc();

		if (now >= deadline)
			force_quit = 1;
		if (c->cfg.max_packets) {
			uint64_t total = 0;

			for (unsigned int r = 0; r < c->nb_rows; r++)
				for (unsigned int i = 0; i < c->nb_ports; i++)
					total += c->cnt[r * RTE_MAX_ETHPORTS + c->ports[i]].rx;
			if (total >= c->cfg.max_packets)
				force_quit = 1;
		}
		if (c->cfg.stats_interval && now >= next_stats) {
			print_stats(c, false);
			next_stats += c->cfg.stats_interval * hz;
		}
		if (!lc->n_rx)
			rte_delay_us_sleep(1000);
	}
	return 0;
}

/* ---- 統計 ------------------------------------------------------------------------ */

static void sum_port(const struct ctx *c, uint16_t port, struct port_counters *s)
{
	memset(s, 0, sizeof(*s));
	for (unsigned int r = 0; r < c->nb_rows; r++) {
		const volatile struct port_counters *pc = &c->cnt[r * RTE_MAX_ETHPORTS + port];

		s->rx += pc->rx;
		s->tx += pc->tx;
		s->dropped += pc->dropped;
		for (int k = 0; k < P_MAX; k++)
			s->proto[k] += pc->proto[k];
		for (int q = 0; q < MAX_RXQ; q++)
			s->q_rx[q] += pc->q_rx[q];
	}
}

/* 千分位格式 */
static const char *thousands(char *buf, size_t len, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v), j = 0;

	for (int i = 0; i < n && j < (int)len - 1; i++) {
		if (i && (n - i) % 3 == 0 && j < (int)len - 2)
			buf[j++] = ',';
		buf[j++] = tmp[i];
	}
	buf[j] = '\0';
	return buf;
}

static void print_stats(struct ctx *c, bool final)
{
	uint64_t now = final ? c->stop_tsc : rte_rdtsc();
	double dt, elapsed = (double)(now - c->start_tsc) / rte_get_timer_hz();
	char a[32], b[32], d[32], e[32], f[32];

	if (!c->last_tsc)
		c->last_tsc = c->start_tsc;
	dt = final ? elapsed : (double)(now - c->last_tsc) / rte_get_timer_hz();
	if (dt <= 0)
		dt = 1e-9;
	printf(final ? "\n==== 總結(%.2f 秒,模式 %s)====\n" : "[%.1f 秒] 模式 %s\n", elapsed,
	       mode_names[c->cfg.mode]);
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		uint16_t port = c->ports[i];
		struct port_counters s;
		struct rte_eth_stats es = { 0 };
		uint64_t drx, dtx;

		sum_port(c, port, &s);
		rte_eth_stats_get(port, &es);
		drx = final ? s.rx : s.rx - c->last_rx[port];
		dtx = final ? s.tx : s.tx - c->last_tx[port];
		c->last_rx[port] = s.rx;
		c->last_tx[port] = s.tx;
		printf("  連接埠 %u:收 %s(%s pps)送 %s(%s pps)丟棄 %s;"
		       "imissed %" PRIu64 " ierrors %" PRIu64 " rx_nombuf %" PRIu64 "\n",
		       port, thousands(a, sizeof(a), s.rx), thousands(e, sizeof(e), (uint64_t)(drx / dt)),
		       thousands(b, sizeof(b), s.tx), thousands(f, sizeof(f), (uint64_t)(dtx / dt)), thousands(d, sizeof(d), s.dropped), es.imissed, es.ierrors,
		       es.rx_nombuf);
		if (c->cfg.parse) {
			printf("    協定:");
			for (int k = 0; k < P_MAX; k++)
				printf("%s %s%s", proto_names[k], thousands(a, sizeof(a), s.proto[k]),
				       k + 1 < P_MAX ? "、" : "\n");
		}
		if (final && c->cfg.rxq > 1) {
			printf("    各 RX 佇列收到:");
			for (unsigned int q = 0; q < c->cfg.rxq; q++)
				printf("q%u %s%s", q, thousands(a, sizeof(a), s.q_rx[q]),
				       q + 1 < c->cfg.rxq ? "、" : "\n");
		}
	}
	c->last_tsc = now;
	fflush(stdout);
}

/* 給腳本讀的一行:SUMMARY key=value … */
static void print_summary_line(struct ctx *c)
{
	double secs = (double)(c->stop_tsc - c->start_tsc) / rte_get_timer_hz();
	uint64_t rx = 0, tx = 0, dropped = 0;

	for (unsigned int i = 0; i < c->nb_ports; i++) {
		struct port_counters s;

		sum_port(c, c->ports[i], &s);
		rx += s.rx;
		tx += s.tx;
		dropped += s.dropped;
	}
	if (secs <= 0)
		secs = 1e-9;
	printf("SUMMARY mode=%s ports=%u lcores=%u rxq=%u parse=%d seconds=%.3f rx=%" PRIu64
	       " tx=%" PRIu64 " dropped=%" PRIu64 " rx_pps=%.0f tx_pps=%.0f",
	       mode_names[c->cfg.mode], c->nb_ports, c->nb_fwd_lcores, c->cfg.rxq, c->cfg.parse,
	       secs, rx, tx, dropped, rx / secs, tx / secs);
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		uint16_t port = c->ports[i];
		struct port_counters s;
		struct rte_eth_stats es = { 0 };

		sum_port(c, port, &s);
		rte_eth_stats_get(port, &es);
		printf(" p%u_rx=%" PRIu64 " p%u_tx=%" PRIu64 " p%u_dropped=%" PRIu64
		       " p%u_rx_pps=%.0f p%u_imissed=%" PRIu64 " p%u_ierrors=%" PRIu64
		       " p%u_rx_nombuf=%" PRIu64,
		       port, s.rx, port, s.tx, port, s.dropped, port, s.rx / secs, port, es.imissed,
		       port, es.ierrors, port, es.rx_nombuf);
		for (int k = 0; k < P_MAX; k++)
			printf(" p%u_%s=%" PRIu64, port, proto_names[k], s.proto[k]);
		for (unsigned int q = 0; q < c->cfg.rxq; q++)
			printf(" p%u_q%u_rx=%" PRIu64, port, q, s.q_rx[q]);
	}
	printf("\n");
	fflush(stdout);
}

/* ---- 清理 ------------------------------------------------------------------------ */

static void stop_ports(struct ctx *c)
{
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		uint16_t port = c->ports[i];
		int ret = rte_eth_dev_stop(port);

		if (ret)
			fprintf(stderr, "注意:連接埠 %u 停止失敗:%s\n", port, strerror(-ret));
		rte_eth_dev_close(port);
	}
	printf("已停止並關閉 %u 個連接埠\n", c->nb_ports);
}

/*
 * rte_eal_cleanup() 不會刪除 /var/run/dpdk/<prefix>;我們是主要行程,結束時把它移除,
 * 不留下任何狀態。
 */
static void remove_runtime_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX];

	if (!dir[0] || strncmp(dir, "/", 1))
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* ---- main ------------------------------------------------------------------------ */

int main(int argc, char **argv)
{
	struct ctx *c;
	char runtime_dir[PATH_MAX] = "";
	int eal_argc = argc, ret, rc = 1;
	uint16_t port;
	const char *prog = argv[0];

	/* --help 不論放在哪裡都顯示本程式的說明(EAL 自己的說明用 -- 之前的 --help 以外方式看) */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(prog);
			return 0;
		}

	c = calloc(1, sizeof(*c));
	if (!c) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		return 1;
	}
	/* 先解析 -- 之後的程式選項,讓錯誤的用法在 EAL 之前(也不需要 root)就被擋下 */
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--")) {
			eal_argc = i;
			break;
		}
	{
		char *app_argv[argc + 1];
		int app_argc = 0;

		app_argv[app_argc++] = argv[0];
		for (int i = eal_argc + 1; i < argc; i++)
			app_argv[app_argc++] = argv[i];
		app_argv[app_argc] = NULL;
		parse_app_args(&c->cfg, app_argc, app_argv, prog);
	}
	if (precheck(eal_argc, argv)) {
		free(c);
		return 1;
	}

	ret = rte_eal_init(eal_argc, argv);
	if (ret < 0) {
		fprintf(stderr, "錯誤:EAL 初始化失敗:%s;請檢查 EAL 參數(-l、--vdev、-m),"
				"hugepage(sudo make setup-hugepages 或 --no-huge -m 1024),"
				"以及同名的 --file-prefix 是否已有 DPDK 行程在執行\n",
			rte_strerror(rte_errno));
		free(c);
		return rte_errno == EINVAL ? EXIT_USAGE : 1;
	}
	snprintf(runtime_dir, sizeof(runtime_dir), "%s", rte_eal_get_runtime_dir());
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);

	/* 選出要用的連接埠 */
	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "錯誤:找不到任何連接埠;請以 dpdk-devbind.py --bind=vfio-pci 綁定網卡,"
				"或使用虛擬裝置,例如 --no-pci --vdev=net_null0 --vdev=net_null1\n");
		goto out_eal;
	}
	RTE_ETH_FOREACH_DEV(port) {
		if (c->cfg.portmask && !(c->cfg.portmask & (1ULL << port)))
			continue;
		c->port[port].enabled = true;
		c->ports[c->nb_ports++] = port;
	}
	if (c->cfg.portmask && (c->cfg.portmask >> RTE_MIN(63, RTE_MAX_ETHPORTS)) == 0) {
		uint64_t known = 0;

		RTE_ETH_FOREACH_DEV(port)
			known |= 1ULL << port;
		if (c->cfg.portmask & ~known) {
			fprintf(stderr, "錯誤:連接埠遮罩 0x%" PRIx64 " 包含不存在的連接埠"
					"(現有連接埠遮罩 0x%" PRIx64 ")\n", c->cfg.portmask, known);
			rc = EXIT_USAGE;
			goto out_eal;
		}
	}
	if (c->nb_ports == 0) {
		fprintf(stderr, "錯誤:連接埠遮罩 0x%" PRIx64 " 沒有選到任何連接埠\n", c->cfg.portmask);
		rc = EXIT_USAGE;
		goto out_eal;
	}
	if (c->cfg.mode == MODE_FWD) {
		if (c->nb_ports % 2) {
			fprintf(stderr, "錯誤:fwd 模式需要偶數個連接埠(0<->1、2<->3),目前有 %u 個;"
					"請再加一個 --vdev 或改用 --mode macswap\n", c->nb_ports);
			rc = EXIT_USAGE;
			goto out_eal;
		}
		for (unsigned int i = 0; i < c->nb_ports; i += 2) {
			c->port[c->ports[i]].peer = c->ports[i + 1];
			c->port[c->ports[i + 1]].peer = c->ports[i];
		}
	}
	for (unsigned int i = 0; i < RTE_MAX_ETHPORTS; i++)
		if (c->cfg.ip[i] && !c->port[i].enabled)
			printf("注意:--ip 指定的連接埠 %u 不存在或未啟用\n", i);

	assign_lcores(c);
	c->nb_rows = 0;
	{
		unsigned int lid;

		RTE_LCORE_FOREACH(lid)
			c->nb_rows = RTE_MAX(c->nb_rows, (unsigned int)rte_lcore_index(lid) + 1);
	}
	c->cnt = aligned_alloc(RTE_CACHE_LINE_SIZE,
			       sizeof(*c->cnt) * c->nb_rows * RTE_MAX_ETHPORTS);
	if (!c->cnt) {
		fprintf(stderr, "錯誤:無法配置計數器記憶體\n");
		goto out_eal;
	}
	memset(c->cnt, 0, sizeof(*c->cnt) * c->nb_rows * RTE_MAX_ETHPORTS);

	if (create_pools(c, RX_DESC_DEFAULT, TX_DESC_DEFAULT))
		goto out_cnt;
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		if (port_init(c, c->ports[i])) {
			/* 已啟動的連接埠一併停止關閉 */
			c->nb_ports = i + 1;
			goto out_ports;
		}
	}
	check_link_status(c);
	printf("模式 %s,%u 個連接埠,%u 個轉送 lcore,每個連接埠 %u 個 RX 佇列,burst %u,"
	       "協定解析%s;按 Ctrl-C 結束\n",
	       mode_names[c->cfg.mode], c->nb_ports, c->nb_fwd_lcores, c->cfg.rxq, c->cfg.burst,
	       c->cfg.parse ? "開" : "關");
	fflush(stdout);

	c->start_tsc = rte_rdtsc();
	if (!force_quit)
		rte_eal_mp_remote_launch(lcore_main, c, CALL_MAIN);
	rte_eal_mp_wait_lcore();
	c->stop_tsc = rte_rdtsc();

	print_stats(c, true);
	print_summary_line(c);
	rc = 0;
out_ports:
	stop_ports(c);
	/* mbuf pool 由 rte_eal_cleanup 一併釋放 */
out_cnt:
	free(c->cnt);
out_eal:
	rte_eal_cleanup();
	remove_runtime_dir(runtime_dir);
	free(c);
	return rc;
}
