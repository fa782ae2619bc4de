// SPDX-License-Identifier: MIT
/*
 * dpdk_packet_processing.c — DPDK 封包處理器:有沒有網卡、有沒有 hugepage 都能跑
 *
 * 示範什麼
 *   DPDK 讓使用者空間的輪詢模式驅動程式(PMD)直接收送封包,完全不經過核心網路堆疊。
 *   這個檔案是一個完整 DPDK 應用程式的骨架,也是讀一次就懂 DPDK 的導覽:
 *     EAL 初始化 -> 連接埠(mbuf pool、佇列、offload、ptype、連結事件)-> 轉送引擎
 *     -> 每個 lcore 的輪詢迴圈 -> 統計(每秒、總結、xstats、telemetry)-> 清理。
 *
 * 依這個順序閱讀(檔案就是這個順序)
 *   1. 設定與資料結構        struct config(使用者要求的)、struct ctx(啟動時建立的)、struct stream
 *   2. EAL 初始化            eal_start():hugepage 檔案與 /var/run/dpdk/<prefix> 由誰清理、拒絕 secondary
 *   3. 連接埠                create_pools()、port_init()(標準順序)、choose_ptype()、連結事件、
 *                            net_af_xdp 的 XDP 程式(xdp_prog_id())與做不到時改用 net_af_packet(af_xdp_fallback())
 *   4. lcore 與 stream       assign_streams():一個 RX 佇列 = 一個 stream,只由一個 lcore 輪詢;計數在該 lcore 的 NUMA 節點
 *   5. 封包分類              classify_hw()(PMD 的 m->packet_type)與 classify_sw()(逐層解析)
 *   6. 轉送引擎              eng_*():每種模式一個 burst 函式,啟動時選一次(testpmd 的 fwd_engine)
 *   7. 主迴圈                lcore_main():rx_burst -> 引擎 -> tx_burst;主 lcore 另做計時與統計
 *   8. 統計                  每秒的連接埠/佇列速率、空輪詢比例、burst 大小分布、xstats、telemetry 指令
 *   9. 清理                  停止並關閉連接埠、rte_eal_cleanup()、只刪自己建立的執行期目錄
 *  10. 選項、說明與啟動前檢查、main()
 *
 * 一個封包的路徑(macswap + 解析)
 *
 *     網卡/vdev RX 環 --rte_eth_rx_burst()--> pkts[0..nb)          (一次一批,最多 --burst 個)
 *        |                                       |
 *        |   mbuf 來自 mbuf pool(hugepage)     v
 *        |                         classify:m->packet_type(硬體)或逐層解析(軟體)
 *        |                                       |  回傳一個小整數(類別),計入這一批的區域直方圖
 *        |                                       v
 *        |                         交換來源/目的 MAC(就地修改,不複製)
 *        |                                       |
 *     網卡/vdev TX 環 <--rte_eth_tx_burst()------+   送不出去的 mbuf 立即釋放,計入 dropped
 *
 * 需要:DPDK 22.11(Debian:libdpdk-dev),root 權限。沒有網卡時用虛擬裝置(vdev):
 *   net_null(無限產生全零封包的假裝置)、net_ring、net_pcap(讀寫 pcap 檔)、
 *   net_af_packet(綁在 Linux 介面上,例如 veth)、net_af_xdp(經 AF_XDP socket 綁在 Linux 介面的一個
 *   queue 上:核心的 XDP 程式把封包直接交給 DPDK,不經過 skb;做不到時本程式改用 net_af_packet 並印出原因)、
 *   net_memif(與另一個 DPDK 行程以共享記憶體相連)、
 *   net_tap(建立一個 Linux tap 介面;它回報 ptype 與 checksum 旗標)。
 *   沒有 hugepage 時加 --no-huge -m 1024(程式會選擇放得下的 mbuf pool 大小)。
 *
 * 用法
 *   sudo ./dpdk_packet_processing [EAL 參數] -- [程式選項]
 *   sudo ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 \
 *        --vdev=net_null0 --vdev=net_null1 -- --mode fwd
 *   sudo ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 \
 *        --vdev=net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap -- --mode macswap --duration 2
 *   sudo ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 \
 *        --vdev=net_af_xdp0,iface=veth0 -- --mode respond --ip 0=10.0.0.1
 *   ./dpdk_packet_processing --help
 *
 * 一個指令試試看(不需要網卡,不需要 hugepage,5 秒後自動結束):
 *   sudo ./dpdk_packet_processing -l 0-1 --no-pci --no-huge -m 1024 --file-prefix=try \
 *        --vdev=net_null0 --vdev=net_null1 -- --mode macswap --duration 5
 * 執行中讀取計數(另一個終端機):
 *   echo /packet_processing/stats | sudo dpdk-telemetry.py -f try
 *
 * 轉送引擎(--mode,加上是否 --no-parse;啟動時選定一個 burst 函式,迴圈裡不再判斷模式)
 *   io             fwd 不解析:整批原樣送到成對的連接埠,不碰封包內容(testpmd 的 io)
 *   fwd            解析並計數後送到成對的連接埠(0<->1、2<->3,像 l2fwd)
 *   macswap        交換 MAC 後從同一埠送回(testpmd 的 macswap);可加解析
 *   rxonly         計數後丟棄;可加解析
 *   respond        解析,回應給 --ip 的 ARP request 與 ICMP echo request,其他丟棄
 *
 * 封包分類:硬體優先,軟體備援
 *   啟動時以 rte_eth_dev_get_supported_ptypes() 問 PMD 會在 m->packet_type 填哪些類型。
 *   PMD 能分出 VLAN、IPv4、IPv6、TCP、UDP 時(例如 net_tap 與多數實體網卡),計數直接取自
 *   m->packet_type 與 checksum 旗標,不讀封包內容;PMD 沒分出 L3/L4 的封包(ARP、ICMP、
 *   其他協定)與網卡沒判定 checksum 的封包(旗標 UNKNOWN)才交給軟體解析。PMD 不回報時(net_null、net_pcap、net_af_packet、net_memif)
 *   全部以軟體逐層解析:每次讀取前先檢查長度,長度欄位一律對照整個封包的 pkt_len;
 *   標頭跨越 mbuf segment 時以 rte_pktmbuf_read() 讀。respond 模式一律以軟體解析。
 *   硬體路徑不讀封包:長度欄位矛盾的封包只有在網卡判定 checksum 錯誤時才算 malformed;
 *   要逐欄位檢查請加 --ptype sw。
 *
 * checksum 怎麼驗證(--l4-cksum,預設 hw:和 testpmd、l3fwd 一樣相信網卡的判定)
 *   IPv4 標頭:網卡有 RX IPv4 checksum offload 就看 ol_flags,否則軟體計算(IHL=5 走展開的快速路徑,很便宜)。
 *   TCP/UDP/ICMPv6:hw = 網卡有 L4 checksum offload 就看旗標(GOOD/BAD);旗標 UNKNOWN 或網卡沒有
 *     這個 offload(所有 vdev)時不驗證,計入「L4 checksum 未驗證」:不算正確,也不算 malformed。
 *     sw = 網卡沒判定的以軟體驗證:虛擬標頭 + rte_raw_cksum_mbuf()(效果同 rte_ipv4_udptcp_cksum_verify,
 *     但可跨 segment,也處理 IPv6 擴充標頭;真實訊框上約是解析成本的 3 倍)。off = 一律不驗證。
 *   ICMP(IPv4):網卡從不判定;sw 時以軟體驗證,否則計入未驗證;respond 一律驗證(不回覆壞掉的 request)。
 *   片段:第一個片段的 L4 checksum 涵蓋整個資料包,無法驗證(計入未驗證),只檢查標頭本身。
 *
 * 多行程與清理(DPDK 的 multi-process)
 *   本程式只以主要行程(primary)執行:--proc-type=secondary 直接拒絕;--proc-type=auto 變成
 *   secondary 時也拒絕,而且絕不刪除別人的 /var/run/dpdk/<prefix>。要觀察執行中的本程式,
 *   請用 dpdk-telemetry.py(見上)。
 *   hugepage 檔案:沒有指定 --huge-unlink、--in-memory 或 --no-huge 時,本程式自動加上 --huge-unlink:
 *   EAL 對應完 hugepage 就刪掉檔案,結束後(包括被 SIGKILL)不留下 /dev/hugepages/<prefix>map_*。
 *   代價是 secondary 行程(dpdk-proc-info、dpdk-pdump)無法附加;需要它們時自己加
 *   --huge-unlink=existing,本程式正常結束、Ctrl-C 或初始化失敗時仍會刪除自己的 hugepage 檔案。
 *   /var/run/dpdk/<prefix>:以主要行程初始化成功才算自己的,結束時刪除;初始化失敗時只刪除
 *   本來不存在、也沒有別的行程持有鎖的目錄。
 *   Linux 介面的混雜模式:以 PACKET_MR_PROMISC 向核心登記(計數式,kill -9 也由核心撤銷),
 *   不用 PMD 的 IFF_PROMISC 旗標(那是管理者的,被 kill -9 時會一直開著);見 promisc_membership()。
 *
 * 對端能做什麼、不能做什麼
 *   能:以任意速率送任意內容的訊框;塞滿 RX 環時多出的封包由網卡丟棄(imissed),不影響其他佇列;
 *       讓 respond 模式為每個給它的 ARP/ICMP request 回一個同樣大小的封包(1:1,沒有放大);
 *       來源是多播/廣播(MAC 或 IP)、帶 IP 選項、目的 MAC 不是我們的 request 不回覆(和核心一樣)。
 *   主機政策:連接埠綁在 Linux 介面上(net_af_xdp、net_af_packet、net_tap)時,respond 代替核心回答,
 *       遵守管理者給核心的開關:net.ipv4.icmp_echo_ignore_all = 1 不回 ping,介面 NOARP 或
 *       arp_ignore = 8 不回 ARP(每秒重讀,改變時印一行,擋下的計入 policy_ignored)。我們的回覆不經過
 *       netfilter:nftables/iptables 的規則管不到本程式。net_af_packet 只是旁聽,--ip 若也是核心的
 *       位址,核心也會回答(啟動時警告)。
 *   不能:讓程式配置更多記憶體(mbuf pool 在啟動時固定,--rxd/--txd/--burst/--rxq 都有上限),也不能讓
 *       mbuf 有借無還(巨型訊框的 mbuf 鏈不交給 TX 送不了鏈的 PMD,丟棄並計數,見 tx_takes_chains());
 *       以格式錯誤的封包讓程式讀出界(每一層先檢查長度,計入 malformed);讓程式等待
 *       (資料路徑沒有任何等待;連結中斷、memif 對端消失、介面被刪除都只印訊息並繼續輪詢)。
 *   注意:net_af_xdp 把它那個 queue 的所有封包都交給本程式(libxdp 的 xsk_def_prog),核心在那個 queue
 *       上收不到任何封包(包括 SSH):在有其他服務的介面上請用專用的 queue(start_queue=)或 net_af_packet。
 *       我們被 SIGKILL 時 XDP 程式留在介面上(libxdp 以 netlink 掛上);下一次執行說出它、沿用並在結束時卸下。
 *   例外(PMD 的問題,本程式修不了):對端突然結束時,DPDK 22.11 的 memif PMD 在中斷執行緒解除共享記憶體的
 *       對應,正在 rx_burst 的 lcore 可能讀到已解除對應的位址(SIGSEGV);memif 沒有 RX 中斷模式,也不發
 *       LSC 事件,應用程式無從及時停止輪詢。啟動時警告一行。net_memif server 的 socket 預設是抽象 socket,同一個網路
 *       命名空間的任何行程都能連;DPDK 22.11 的 memif PMD 遇到連上就立刻斷線的對端會在 EAL 的中斷
 *       執行緒 PANIC,整個程式結束(留下 /var/run/dpdk/<prefix>)。啟動時會警告;不可信的環境請在
 *       vdev 加 socket-abstract=no(socket 成為 root 的檔案,只有 root 能連)。
 *
 * 統計的意義(每 --stats-interval 秒一次)
 *   收 / 送 / 丟棄   本程式收到、成功送出、以及送不出(TX 環滿)或太短而釋放的封包數與每秒封包數
 *   imissed          網卡因 RX 環滿而丟掉的封包(程式處理不夠快)
 *   ierrors/oerrors  網卡收到的錯誤訊框 / 送出失敗的封包
 *   rx_nombuf        mbuf pool 用完而收不進來的次數(pool 太小或 mbuf 洩漏)
 *   佇列             每個 RX 佇列由哪個 lcore 輪詢、速率、空輪詢比例(rx_burst 回傳 0 的比例)、
 *                    平均 burst(每次 rx_burst 帶回幾個封包;越接近 --burst,每個封包分攤的成本越低)
 *   lcore 忙碌時間   結束時印出:收到封包的那些輪詢(rx_burst + 引擎)用掉的時間佔 lcore 的比例,與它 ÷ 封包
 *                    (testpmd --record-core-cycles 的算法);忙碌輪詢的 lcore 永遠佔滿 CPU,其餘是空轉
 *   協定             arp ipv4 ipv6 tcp udp icmp icmpv6 vlan qinq other malformed
 *                    malformed = 任何一層長度不足、長度欄位矛盾或(有驗證的)checksum 錯誤(只計入 malformed)
 *   L4 未驗證        TCP/UDP/ICMP 封包中 checksum 沒有被網卡也沒有被軟體驗證的(預設 --l4-cksum hw 在 vdev 上
 *                    就是全部;不算正確,也不算 malformed)
 *   結束時另印 burst 大小分布、每個封包的 CPU 時間、非零的 xstats,以及給腳本讀的一行
 *   SUMMARY key=value …(每個連接埠、每個佇列的計數與 pps)。
 *   結束方式:--duration、--packets、SIGINT(Ctrl-C)、SIGTERM、SIGHUP,以及輸出管線被關掉
 *   (SIGPIPE,例如接到 head)都走同樣的清理:停止並關閉連接埠、刪除執行期目錄,結束碼 0。
 */
#include <ctype.h>
#include <stdarg.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <ifaddrs.h>
#include <inttypes.h>
#include <limits.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/bpf.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <sys/syscall.h>

#include <rte_arp.h>
#include <rte_byteorder.h>
#include <rte_common.h>
#include <rte_cycles.h>
#include <rte_dev.h>
#include <rte_devargs.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_icmp.h>
#include <rte_ip.h>
#include <rte_kvargs.h>
#include <rte_log.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mbuf_ptype.h>
#include <rte_mempool.h>
#include <rte_prefetch.h>
#include <rte_tcp.h>
#include <rte_telemetry.h>
#include <rte_udp.h>
#include <rte_vect.h>

#define EXIT_USAGE 64
#define MAX_BURST 512
#define MAX_RXQ 16
#define DESC_MIN 64
#define DESC_MAX 16384
#define DESC_FALLBACK 1024         /* PMD 沒有建議的描述子數時用這個 */
#define AF_XDP_FILL 2048           /* net_af_xdp(22.11)啟動時放進 fill ring 的 mbuf 數 */
#define MBUF_CACHE 256
#define PREFETCH_OFFSET 3          /* 先 prefetch 幾個封包之後的標頭(l3fwd 用 3) */
#define HDR_WINDOW 256             /* 多 segment 封包:標頭最多讀前 256 位元組 */
#define MAX_VLAN_TAGS 2
#define LINK_WAIT_MS 2000
#define BURST_BUCKETS 10           /* burst 大小分布:1、2-3、4-7 … 512 */
#define TEL_CMD "/packet_processing/stats"

/* ==== 1. 設定與資料結構 ========================================================== */

enum mode { MODE_FWD, MODE_MACSWAP, MODE_RXONLY, MODE_RESPOND, MODE_MAX };
static const char *const mode_names[MODE_MAX] = { "fwd", "macswap", "rxonly", "respond" };

/* L4 checksum:hw = 只信網卡的判定(預設,和 testpmd、l3fwd 一樣);sw = 網卡沒判定時以軟體驗證;off = 不看 */
enum l4_cksum { L4CK_HW, L4CK_SW, L4CK_OFF };
static const char *const l4ck_names[] = { "hw", "sw", "off" };

/* 使用者要求的設定(只在啟動時寫入;資料路徑用的部分會複製到 stream 與區域變數) */
struct config {
	enum mode mode;
	uint64_t portmask;           /* 0 = 全部連接埠 */
	unsigned int burst;
	unsigned int rxq;
	unsigned int rxd, txd;       /* 每個 RX/TX 佇列的描述子數;0 = PMD 建議的大小(PMD 可能再調整) */
	unsigned int stats_interval; /* 秒;0 = 不印週期統計 */
	unsigned int duration;       /* 秒;0 = 直到 SIGINT/SIGTERM/SIGHUP */
	uint64_t max_packets;        /* 收到這麼多封包後結束;0 = 不限 */
	bool parse;                  /* 分類並計數(預設開;respond 一定開) */
	bool sw_ptype;               /* --ptype sw:不用 PMD 的 packet_type */
	bool xstats;                 /* 每個統計週期也印 xstats */
	enum l4_cksum l4_cksum;
	rte_be32_t ip[RTE_MAX_ETHPORTS]; /* respond 模式每個連接埠的 IPv4 位址,0 = 未設定 */
};

/*
 * 分類結果是一個小整數(放在暫存器裡回傳,不寫記憶體):
 *   位元 0-3 = kind(每個封包恰好一個),位元 4-5 = VLAN 標籤數,位元 6 = 第一個片段,
 *   位元 7 = 跨多個 mbuf segment,位元 8 = L4 checksum 未驗證(不算正確,也不算 malformed)。
 * 協定計數由 kind 推出:例如 ipv4 = K_IPV4 + K_IPV4_TCP + K_IPV4_UDP + K_IPV4_ICMP。
 */
enum kind {
	K_OTHER, K_ARP, K_IPV4, K_IPV4_TCP, K_IPV4_UDP, K_IPV4_ICMP,
	K_IPV6, K_IPV6_TCP, K_IPV6_UDP, K_IPV6_ICMPV6, K_MALFORMED, K_MAX
};
#define CLS_KIND(c) ((c) & 0xfu)
#define CLS_TAG_SHIFT 4
#define CLS_TAG_MASK (0x3u << CLS_TAG_SHIFT)
#define CLS_TAGS(c) (((c) & CLS_TAG_MASK) >> CLS_TAG_SHIFT)
#define CLS_FIRST_FRAG 0x40u
#define CLS_MULTISEG 0x80u
#define CLS_UNVERIFIED 0x100u /* 有 L4 checksum,但沒有人驗證(網卡沒判定,也沒有 --l4-cksum sw) */

/* 對外的協定計數名稱(統計、SUMMARY、telemetry 共用) */
enum proto {
	P_ARP, P_IPV4, P_IPV6, P_TCP, P_UDP, P_ICMP, P_ICMPV6, P_VLAN, P_QINQ, P_OTHER,
	P_MALFORMED, P_MAX
};
static const char *const proto_names[P_MAX] = {
	"arp", "ipv4", "ipv6", "tcp", "udp", "icmp", "icmpv6", "vlan", "qinq", "other", "malformed"
};

/* stream 的分類旗標(由連接埠能力與選項決定,啟動後不變) */
#define F_PTYPE_HW 0x1u  /* 計數取自 m->packet_type */
#define F_IP_HW    0x2u  /* ol_flags 有 IPv4 標頭 checksum 判定 */
#define F_L4_HW    0x4u  /* ol_flags 有 L4 checksum 判定 */
#define F_L4_SW    0x8u  /* 沒有判定時以軟體驗證 L4 checksum */
#define F_TX_FLAT  0x10u /* TX 連接埠送不了 mbuf 鏈:跨 segment 的封包送出前丟棄(見 tx_takes_chains()) */

/* 主機政策(respond,只對綁在 Linux 介面上的連接埠):核心自己在這個介面上不會回答的,我們也不回答 */
#define POL_NO_ECHO 0x1u /* net.ipv4.icmp_echo_ignore_all = 1 */
#define POL_NO_ARP  0x2u /* 介面的 NOARP 旗標,或 arp_ignore = 8(all 與介面取大者) */

/* 一個 stream 的計數:只有輪詢它的 lcore 寫入,主 lcore 與 telemetry 執行緒讀取 */
struct stream_counters {
	uint64_t rx, tx;
	uint64_t tx_dropped;         /* TX 環滿送不出而釋放(計在 TX 連接埠) */
	uint64_t rx_dropped;         /* 太短(不到 14 位元組)無法處理而釋放(計在 RX 連接埠) */
	uint64_t empty_polls;        /* rx_burst 回傳 0 的次數 */
	uint64_t busy_tsc;           /* 收到封包的輪詢(rx_burst + 引擎)用掉的 TSC 週期:lcore 真正在工作的時間 */
	uint64_t full_bursts;        /* rx_burst 回傳 --burst 個(RX 環裡還有更多) */
	uint64_t burst_hist[BURST_BUCKETS]; /* 非空 burst 的大小分布:第 k 格 = [2^k, 2^(k+1)) */
	uint64_t kinds[K_MAX];
	uint64_t tags[MAX_VLAN_TAGS + 1];
	uint64_t multiseg;           /* 跨多個 mbuf segment 的封包(巨型訊框) */
	uint64_t l4_unverified;      /* L4 checksum 沒有被驗證的 TCP/UDP/ICMP/ICMPv6 封包 */
	uint64_t policy_ignored;     /* respond:給我們的 request,但主機政策說不回答(見 host_policy()) */
};

/*
 * stream = 一個 (RX 連接埠, RX 佇列) 與它的 TX 目的地;testpmd 的 fwd_stream。
 * 設定在前(唯讀),計數在後且從新的快取行開始。以 rte_zmalloc_socket 配置在
 * 輪詢它的 lcore 所在的 NUMA 節點上。
 */
struct stream {
	uint16_t rx_port, rx_queue;
	uint16_t tx_port, tx_queue;
	unsigned int lcore;
	unsigned int flags;          /* F_* */
	rte_be32_t ip;               /* respond:本連接埠的 IPv4 位址 */
	uint32_t policy;             /* respond:主機政策 POL_*(主 lcore 每秒更新,轉送 lcore 在冷路徑讀) */
	struct rte_ether_addr mac;   /* respond:本連接埠的 MAC */
	struct stream_counters c __rte_cache_aligned;
} __rte_cache_aligned;

/* 引擎:一種模式一個 burst 函式(testpmd 的 struct fwd_engine) */
typedef void (*burst_fn)(struct stream *s, struct rte_mbuf **pkts, uint16_t nb);
struct engine {
	enum mode mode;
	bool parse;
	const char *name;
	burst_fn fn;
};

struct lcore_conf {
	unsigned int n_streams;
	struct stream *streams;      /* rte_zmalloc_socket,在這個 lcore 的 NUMA 節點 */
	uint16_t txq;                /* 這個 lcore 在每個連接埠上專用的 TX 佇列 */
	uint64_t cpu_ns;             /* 輪詢迴圈用掉的執行緒 CPU 時間 */
};

/* 每個連接埠初始化後的資訊 */
struct port_info {
	bool enabled;
	uint16_t peer;               /* fwd 模式的對應連接埠 */
	uint16_t nb_rxq, nb_txq;
	uint16_t nb_rxd, nb_txd;     /* PMD 調整後的描述子數 */
	unsigned int flags;          /* F_*:這個連接埠的 stream 共用 */
	bool lsc_intr;               /* PMD 以中斷回報連結變化 */
	unsigned int if_index;       /* 綁定的 Linux 介面(net_af_packet、net_tap),0 = 無 */
	uint32_t lsc_events;         /* 連結事件次數(LSC callback 以原子操作遞增) */
	int link_up;                 /* 上次看到的連結狀態,-1 = 尚未知道 */
	bool iface_gone;
	bool promisc_set;            /* 以 rte_eth_promiscuous_enable 打開的(沒有 Linux 介面的連接埠):結束時關掉 */
	bool promisc_member;         /* Linux 介面:promisc_fd 上登記了 PACKET_MR_PROMISC(見 promisc_membership()) */
	int promisc_fd;
	bool admin_promisc;          /* 啟動前管理者就開著介面的 promisc 旗標:rte_eth_dev_start 之後要放回去 */
	bool tx_chains;              /* TX 收得下跨 segment 的封包(mbuf 鏈) */
	bool af_xdp;                 /* net_af_xdp:結束時確認介面上沒有留下 XDP 程式 */
	int policy;                  /* respond:上次讀到的主機政策 POL_*,-1 = 還沒讀過 */
	bool fell_back;              /* net_af_xdp 做不到,已改用 net_af_packet */
	uint32_t xdp_prog;           /* net_af_xdp 啟動後介面上的 XDP 程式 id */
	char iface[IF_NAMESIZE];     /* 綁定的 Linux 介面名稱(net_af_xdp、net_af_packet) */
	struct rte_ether_addr mac;
	char name[RTE_ETH_NAME_MAX_LEN];
	char driver[64];
	struct rte_eth_stats final;  /* 關閉前讀到的最後統計(SUMMARY 用) */
};

/* 上一次印統計時的計數(算每秒速率);只有主 lcore 讀寫 */
struct snapshot {
	uint64_t rx, tx, polls, empty;
};

/* 程式執行時建立的一切 */
struct ctx {
	struct config cfg;
	const struct engine *engine;
	struct port_info port[RTE_MAX_ETHPORTS];
	uint16_t ports[RTE_MAX_ETHPORTS];  /* 啟用的連接埠,依序 */
	unsigned int nb_ports;
	struct rte_mempool *pool[RTE_MAX_NUMA_NODES];
	struct lcore_conf lconf[RTE_MAX_LCORE];
	unsigned int nb_fwd_lcores;
	struct stream *all[RTE_MAX_ETHPORTS * MAX_RXQ]; /* 依連接埠、佇列排序,統計用 */
	struct snapshot last[RTE_MAX_ETHPORTS * MAX_RXQ];
	unsigned int nb_streams;
	bool telemetry;                    /* telemetry 指令已註冊 */
	uint64_t start_tsc, stop_tsc, last_tsc;
	/* EAL 與清理 */
	char prefix[128];
	char runtime_dir[PATH_MAX];
	bool runtime_existed;        /* rte_eal_init 之前就存在 */
	bool primary;                /* 以主要行程初始化成功:執行期目錄與 hugepage 檔案是我們的 */
	char huge_dir[PATH_MAX];     /* 使用者以 --huge-dir 指定的目錄 */
	/* EAL/PMD 的記錄:初始化與連接埠設定期間先寫進記憶體,找出失敗原因後原樣印到 stderr */
	FILE *log;
	char *log_buf;
	size_t log_len;
	char *eal_log;               /* rte_eal_init 期間的記錄 */
	char err[512];               /* port_init 失敗的原因(由呼叫者決定印出或改用 net_af_packet) */
};

/* 可變全域變數只有兩個。第一個:訊號處理函式設定的停止旗標 */
static volatile sig_atomic_t force_quit;

/*
 * 第二個:telemetry 指令找到 ctx 的入口。22.11 的 telemetry callback 沒有使用者參數
 * (23.03 才有 rte_telemetry_register_cmd_arg),而 EAL 的 telemetry 執行緒在 rte_eal_cleanup()
 * 之後仍在、隨時可能呼叫我們,所以入口不能放在 DPDK 記憶體裡(memzone 在 rte_eal_cleanup 時
 * 解除對應,正在查詢的 callback 會讀到已解除對應的位址)。結束時先把 c 設為 NULL,
 * 再等 busy 歸零(正在執行的 callback 做完),之後才停止連接埠、釋放計數(telemetry_close)。
 */
static struct {
	struct ctx *c;
	unsigned int busy;
} tel;

static void on_signal(int sig)
{
	(void)sig;
	force_quit = 1;
}

/* 後面才定義的函式(C 需要宣告,不需要順序) */
static void parse_app_args(struct config *cfg, int argc, char **argv, const char *prog);
static int precheck(int eal_argc, char **argv);
static void usage(const char *prog);
static const char *eal_arg_value(int argc, char **argv, const char *name, size_t min);
static bool has_arg(int argc, char **argv, const char *name, size_t min);
static bool prefix_ok(const char *prefix, size_t max);
static void print_stats(struct ctx *c, bool final);
static void print_summary_line(struct ctx *c);
static void poll_link_events(struct ctx *c);
static void remove_hugepage_files(const struct ctx *c);
static void remove_runtime_dir(const char *dir);
static bool eal_opt_is(const char *arg, const char *name, size_t min, const char **val);
static void warn_empty_pcaps(int eal_argc, char **argv);

/* ==== 2. EAL 初始化 =============================================================== */

/*
 * 執行期目錄 /var/run/dpdk/<prefix> 裡的 config 檔由主要行程以 fcntl 寫入鎖持有。
 * 鎖在別的行程手上 = 那個 prefix 正在被使用:它的目錄與 hugepage 檔案都不能碰。
 * 回傳持有者的 PID,沒有人持有回傳 0。
 */
static pid_t prefix_owner(const char *runtime_dir)
{
	char path[PATH_MAX];
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	int fd;

	snprintf(path, sizeof(path), "%s/config", runtime_dir);
	fd = open(path, O_RDWR);
	if (fd < 0)
		return 0;
	if (fcntl(fd, F_GETLK, &fl) < 0)
		fl.l_type = F_UNLCK;
	close(fd);
	return fl.l_type == F_UNLCK ? 0 : fl.l_pid;
}

/*
 * EAL 與 PMD 的記錄(rte_log)平常直接印出;初始化與連接埠設定期間先以 rte_openlog_stream 寫進
 * 記憶體,結束後原樣印到 stderr,同時留一份給我們找失敗原因(vdev 探測失敗時 EAL 只說
 * 「failed to initialize X device」,真正的原因是 PMD 在它前面印的那一行)。
 * 記憶體串流在 rte_eal_cleanup() 之後才關閉:別的 EAL 執行緒可能還拿著它。
 */
static void log_begin(struct ctx *c)
{
	if (!c->log)
		c->log = open_memstream(&c->log_buf, &c->log_len);
	if (c->log) {
		fflush(c->log);
		rte_openlog_stream(c->log);
	}
}

/* 結束記錄:把這段期間的記錄印到 stderr,回傳它的複本(呼叫者 free) */
static char *log_end(struct ctx *c, size_t from)
{
	char *text;

	if (!c->log)
		return strdup("");
	fflush(c->log);
	rte_openlog_stream(NULL);
	text = strndup(c->log_buf + from, c->log_len - from);
	if (text)
		fputs(text, stderr);
	return text ? text : strdup("");
}

static size_t log_mark(struct ctx *c)
{
	if (c->log)
		fflush(c->log);
	return c->log ? c->log_len : 0;
}

/* 記錄的最後一行(去掉換行),找不到時空字串 */
static void last_log_line(const char *text, char *out, size_t n)
{
	const char *end = text + strlen(text), *start;

	while (end > text && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '.'))
		end--;
	start = end;
	while (start > text && start[-1] != '\n')
		start--;
	if (!strncmp(start, "EAL: ", 5))
		start += 5;
	snprintf(out, n, "%.*s", (int)(end - start), start);
}

/*
 * 準備 EAL 參數並初始化。回傳 0 = 成功(我們是主要行程);否則已印出一行錯誤,
 * 回傳結束碼。失敗時只清理確定屬於我們的東西。
 */
static int eal_start(struct ctx *c, int eal_argc, char **argv)
{
	const char *v;
	char *eal_argv[eal_argc + 2];
	int n = 0, ret;

	/* 本程式不以 secondary 執行:在 EAL 碰到任何共享狀態之前就拒絕(EAL 比對時不分大小寫) */
	v = eal_arg_value(eal_argc, argv, "--proc-type", 4);
	if (v && !strcasecmp(v, "secondary")) {
		fprintf(stderr, "錯誤:本程式只以主要行程(primary)執行,不支援 --proc-type=secondary;"
				"要觀察執行中的程式請用 dpdk-telemetry.py -f <prefix>(指令 %s)\n",
			TEL_CMD);
		return EXIT_USAGE;
	}
	/* prefix 是 /var/run/dpdk/ 底下的目錄名稱,結束時整個刪除:「.」就是 /var/run/dpdk 本身 */
	v = eal_arg_value(eal_argc, argv, "--file-prefix", 4);
	if (v && !prefix_ok(v, sizeof(c->prefix))) {
		fprintf(stderr, "錯誤:--file-prefix「%s」無效:它是 /var/run/dpdk/ 底下的目錄名稱,結束時整個刪除;"
				"不可為空、不可含 /、不可是 . 或 ..,最長 %zu 個字元\n",
			v, sizeof(c->prefix) - 1);
		return EXIT_USAGE;
	}
	snprintf(c->prefix, sizeof(c->prefix), "%s", v ? v : "rte");
	v = eal_arg_value(eal_argc, argv, "--huge-dir", 8);
	snprintf(c->huge_dir, sizeof(c->huge_dir), "%s", v ? v : "");
	/* EAL 以 root 執行時的執行期目錄(eal_create_runtime_dir) */
	snprintf(c->runtime_dir, sizeof(c->runtime_dir), "/var/run/dpdk/%s", c->prefix);
	c->runtime_existed = access(c->runtime_dir, F_OK) == 0;

	for (int i = 0; i < eal_argc; i++)
		eal_argv[n++] = argv[i];
	/* 預設對應完就刪除 hugepage 檔案:任何結束方式(包括 SIGKILL)都不留下檔案 */
	if (!has_arg(eal_argc, argv, "--huge-unlink", 8) && !has_arg(eal_argc, argv, "--in-memory", 4) &&
	    !has_arg(eal_argc, argv, "--no-huge", 7))
		eal_argv[n++] = (char *)"--huge-unlink";
	eal_argv[n] = NULL;

	log_begin(c);
	ret = rte_eal_init(n, eal_argv);
	c->eal_log = log_end(c, 0);
	if (ret < 0) {
		int err = rte_errno;
		pid_t owner = prefix_owner(c->runtime_dir);
		char why[256];

		last_log_line(c->eal_log ? c->eal_log : "", why, sizeof(why));
		if (owner)
			fprintf(stderr, "錯誤:EAL 初始化失敗:--file-prefix=%s 正由 PID %d 使用"
					"(它的 %s 保持原樣);請換一個 --file-prefix\n",
				c->prefix, (int)owner, c->runtime_dir);
		else
			fprintf(stderr, "錯誤:EAL 初始化失敗:%s(EAL:%s);請檢查 EAL 參數(-l、--vdev、-m),"
					"hugepage(sudo make setup-hugepages 或 --no-huge -m 1024)\n",
				rte_strerror(err), why[0] ? why : "沒有說明");
		rte_eal_cleanup();
		/* 失敗的初始化可能已建立目錄與 hugepage 檔案:只在沒有別人使用時清掉 */
		if (!owner) {
			remove_hugepage_files(c);
			if (!c->runtime_existed)
				remove_runtime_dir(c->runtime_dir);
		}
		return err == EINVAL ? EXIT_USAGE : 1;
	}
	if (rte_eal_process_type() != RTE_PROC_PRIMARY) {
		/* --proc-type=auto 找到了執行中的主要行程:那是別人的,什麼都不刪 */
		fprintf(stderr, "錯誤:--file-prefix=%s 已有主要行程在執行,本程式不以 secondary 執行;"
				"請換一個 --file-prefix,或以 dpdk-telemetry.py -f %s 觀察它\n",
			c->prefix, c->prefix);
		rte_eal_cleanup();
		return 1;
	}
	/*
	 * 清理只依 EAL 實際使用的執行期目錄與 prefix(它的最後一段):EAL 接受縮寫與重複的選項,
	 * 我們自己讀到的 prefix 可能是別人的,結束時就會刪掉別人的 hugepage 檔案。
	 */
	snprintf(c->runtime_dir, sizeof(c->runtime_dir), "%s", rte_eal_get_runtime_dir());
	v = strrchr(c->runtime_dir, '/');
	v = v ? v + 1 : c->runtime_dir;
	if (!prefix_ok(v, sizeof(c->prefix))) {
		fprintf(stderr, "錯誤:EAL 的執行期目錄 %s 不是 /var/run/dpdk/<prefix>;為了安全,"
				"結束時不刪除它;請用一般的 --file-prefix 名稱\n", c->runtime_dir);
		rte_eal_cleanup();
		return EXIT_USAGE;
	}
	snprintf(c->prefix, sizeof(c->prefix), "%.*s", (int)sizeof(c->prefix) - 1, v);
	c->primary = true;
	return 0;
}

/* ==== 3. 連接埠 =================================================================== */

static int port_socket(uint16_t port)
{
	int s = rte_eth_dev_socket_id(port);

	return s < 0 ? (int)rte_socket_id() : s;
}

/*
 * 描述子數:使用者給了 --rxd/--txd 就用它;否則用 PMD 在 dev_info 裡建議的大小
 * (default_rxportconf.ring_size,像 testpmd 與 rte_eth_rx_queue_setup(nb_rx_desc = 0) 一樣)。
 * 例如 net_af_xdp 建議 2048:它的 fill ring 一開始放 2048 個 mbuf,RX ring 小於它時,lcore 被搶走的
 * 那段時間核心最多只能替我們收 RX ring 那麼多個封包。沒有建議(多數 vdev)時用 1024。
 */
static unsigned int desc_count(const struct rte_eth_dev_info *di, unsigned int asked, bool rx)
{
	unsigned int pref = rx ? di->default_rxportconf.ring_size : di->default_txportconf.ring_size;

	if (asked)
		return asked;
	return pref ? RTE_MIN(RTE_MAX(pref, (unsigned int)DESC_MIN), (unsigned int)DESC_MAX) :
		      DESC_FALLBACK;
}

/*
 * 每個用到的 NUMA 節點建一個 mbuf pool。大小 = 所有 RX/TX 描述子 + 每個 lcore 的 burst 與
 * cache,再留一倍餘裕,至少 8191 個;記憶體不夠(例如 --no-huge -m 很小)時逐步縮小到最低需求。
 * pool 在啟動時固定:對端再怎麼送也不會讓程式多配置記憶體。
 */
static int create_pools(struct ctx *c)
{
	unsigned int nb_lcores = rte_lcore_count();
	unsigned int need = nb_lcores * (c->cfg.burst * 2 + MBUF_CACHE), want;

	for (unsigned int i = 0; i < c->nb_ports; i++) {
		struct rte_eth_dev_info di;

		if (rte_eth_dev_info_get(c->ports[i], &di))
			memset(&di, 0, sizeof(di));
		need += c->cfg.rxq * desc_count(&di, c->cfg.rxd, true) +
			c->nb_fwd_lcores * desc_count(&di, c->cfg.txd, false);
	}
	want = RTE_MAX(need * 2, 8191u);

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
			fprintf(stderr, "錯誤:無法建立 mbuf pool(NUMA 節點 %d,%u 個 mbuf):%s;"
					"記憶體不足:請執行 sudo make setup-hugepages 或加大 -m\n",
				s, n, rte_strerror(rte_errno));
			return -1;
		}
		printf("mbuf pool:NUMA 節點 %d,%u 個 mbuf(至少需要 %u),每個 %u 位元組\n", s, n,
		       need, RTE_MBUF_DEFAULT_BUF_SIZE);
	}
	return 0;
}

/*
 * 問 PMD 它會在 m->packet_type 填哪些類型。能分出 VLAN、IPv4、IPv6、TCP、UDP 就用硬體分類
 * (其餘封包逐一交給軟體),否則全部軟體解析。回傳說明文字。
 */
static const char *choose_ptype(struct ctx *c, uint16_t port)
{
	static const struct { uint32_t mask, want; const char *name; } need[] = {
		{ RTE_PTYPE_L2_MASK, RTE_PTYPE_L2_ETHER_VLAN, "VLAN" },
		{ RTE_PTYPE_L3_MASK, RTE_PTYPE_L3_IPV4, "IPv4" },
		{ RTE_PTYPE_L3_MASK, RTE_PTYPE_L3_IPV6, "IPv6" },
		{ RTE_PTYPE_L4_MASK, RTE_PTYPE_L4_TCP, "TCP" },
		{ RTE_PTYPE_L4_MASK, RTE_PTYPE_L4_UDP, "UDP" },
	};
	uint32_t pt[64];
	int n = rte_eth_dev_get_supported_ptypes(port, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK |
						 RTE_PTYPE_L4_MASK, pt, RTE_DIM(pt));

	if (c->cfg.sw_ptype)
		return "軟體解析(--ptype sw)";
	if (n <= 0)
		return "軟體解析(PMD 不回報 packet_type)";
	for (size_t k = 0; k < RTE_DIM(need); k++) {
		bool found = false;

		for (int i = 0; i < n && i < (int)RTE_DIM(pt); i++) {
			uint32_t v = pt[i] & need[k].mask;

			/* IPV4_EXT、IPV4_EXT_UNKNOWN 等變體也算 */
			if (v == need[k].want || (need[k].mask == RTE_PTYPE_L3_MASK &&
						  (v & need[k].want) == need[k].want))
				found = true;
		}
		if (!found)
			return "軟體解析(PMD 的 packet_type 缺少部分類型)";
	}
	/* 告訴 PMD 我們只需要 L2-L4,它可以省下其他分類工作(不支援也無妨) */
	rte_eth_dev_set_ptypes(port, RTE_PTYPE_L2_MASK | RTE_PTYPE_L3_MASK | RTE_PTYPE_L4_MASK,
			       NULL, 0);
	c->port[port].flags |= F_PTYPE_HW;
	return "硬體(m->packet_type,ARP 等其他封包以軟體解析)";
}

/* LSC(link state change)callback:在 EAL 的中斷執行緒執行,只記下事件,由主 lcore 印出 */
static int on_link_event(uint16_t port, enum rte_eth_event_type type, void *arg, void *ret)
{
	struct ctx *c = arg;

	(void)type;
	(void)ret;
	__atomic_fetch_add(&c->port[port].lsc_events, 1, __ATOMIC_RELAXED);
	return 0;
}

/*
 * 介面上掛的 XDP 程式(以 netlink RTM_GETLINK 讀 IFLA_XDP):回傳程式 id,0 = 沒有。
 * mode 不是 NULL 時填入掛載模式(XDP_ATTACHED_DRV = native、XDP_ATTACHED_SKB = generic)。
 */
static uint32_t xdp_prog_id(unsigned int if_index, uint8_t *mode)
{
	struct {
		struct nlmsghdr nh;
		struct ifinfomsg ifi;
	} req = { .nh = { .nlmsg_len = sizeof(req), .nlmsg_type = RTM_GETLINK,
			  .nlmsg_flags = NLM_F_REQUEST },
		  .ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)if_index } };
	char buf[16384];
	struct timeval tv = { .tv_sec = 1 };
	uint32_t id = 0;
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	ssize_t n;

	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* 等待有期限 */
	if (send(fd, &req, sizeof(req), 0) == (ssize_t)sizeof(req) &&
	    (n = recv(fd, buf, sizeof(buf), 0)) > 0) {
		struct nlmsghdr *nh = (struct nlmsghdr *)buf;

		if (NLMSG_OK(nh, (size_t)n) && nh->nlmsg_type == RTM_NEWLINK) {
			struct ifinfomsg *ifi = NLMSG_DATA(nh);
			struct rtattr *a = IFLA_RTA(ifi);
			int len = (int)IFLA_PAYLOAD(nh);

			for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
				struct rtattr *x = RTA_DATA(a);
				int xl = (int)RTA_PAYLOAD(a);

				if ((a->rta_type & ~NLA_F_NESTED) != IFLA_XDP)
					continue;
				for (; RTA_OK(x, xl); x = RTA_NEXT(x, xl)) {
					if (x->rta_type == IFLA_XDP_PROG_ID)
						memcpy(&id, RTA_DATA(x), sizeof(id));
					else if (x->rta_type == IFLA_XDP_ATTACHED && mode)
						*mode = *(uint8_t *)RTA_DATA(x);
				}
			}
		}
	}
	close(fd);
	return id;
}

/* XDP 程式的名稱(bpf 系統呼叫 BPF_PROG_GET_FD_BY_ID + BPF_OBJ_GET_INFO_BY_FD) */
static const char *xdp_prog_name(uint32_t id, char *out, size_t n)
{
	struct bpf_prog_info info;
	union bpf_attr attr;
	int fd;

	snprintf(out, n, "?");
	memset(&attr, 0, sizeof(attr));
	attr.prog_id = id;
	fd = (int)syscall(__NR_bpf, BPF_PROG_GET_FD_BY_ID, &attr, sizeof(attr));
	if (fd < 0)
		return out;
	memset(&info, 0, sizeof(info));
	memset(&attr, 0, sizeof(attr));
	attr.info.bpf_fd = (uint32_t)fd;
	attr.info.info_len = sizeof(info);
	attr.info.info = (uint64_t)(uintptr_t)&info;
	if (syscall(__NR_bpf, BPF_OBJ_GET_INFO_BY_FD, &attr, sizeof(attr)) == 0)
		snprintf(out, n, "%.*s", (int)sizeof(info.name), info.name);
	close(fd);
	return out;
}

/*
 * TX 送不送得了跨 segment 的封包(mbuf 鏈,例如 net_pcap、net_memif 收到的巨型訊框)。照 ethdev 的約定,
 * 沒有 RTE_ETH_TX_OFFLOAD_MULTI_SEGS 的 PMD 不可以收到鏈:net_af_xdp 只把第一個 mbuf 的位址與整個 pkt_len
 * 交給核心,核心拒絕這個描述子、不放回 completion ring,PMD 也就永遠不釋放這兩個 mbuf(實測 500 個巨型
 * 訊框漏掉約 1,000 個 mbuf:對端送幾千個就能用光 pool)。net_pcap(以 rte_pktmbuf_read 讀完整條鏈)與
 * net_null(整條釋放)在 22.11 不宣告這個能力,但 TX 處理得了。
 */
static bool tx_takes_chains(const struct rte_eth_dev_info *di)
{
	return (di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) || !strcmp(di->driver_name, "net_pcap") ||
	       !strcmp(di->driver_name, "net_null");
}

/*
 * net_af_xdp 的兩件事,統計與 CPU 時間看不出來,啟動時說清楚:
 * 1. 核心把封包複製進 fill ring 給的 mbuf,再放上 RX ring。PMD 的 fill ring 放 2048 個 mbuf;
 *    fill ring 空了才丟的封包計入 XDP_STATISTICS 的 rx_dropped(= 我們的 imissed),RX ring 先滿
 *    (--rxd 小於 2048,lcore 被搶走或處理不夠快)才丟的封包,PMD 不回報:imissed 是 0,要看 ethtool -S。
 * 2. busy_budget(PMD 預設 64)開啟 preferred busy polling:每次空輪詢都呼叫一次 recvfrom(),讓核心在
 *    這個 lcore 上執行介面的 NAPI。NAPI 與 lcore 在同一顆 CPU 時它省下中斷;NAPI 在別的 CPU 執行時
 *    (例如 veth 的收包在送端 CPU 的 softirq)每次空輪詢只是多一個系統呼叫,可加 busy_budget=0。
 */
static void describe_af_xdp(const struct port_info *pi, const struct rte_eth_dev_info *di)
{
	const struct rte_devargs *da = di->device ? rte_dev_devargs(di->device) : NULL;
	struct rte_kvargs *kv = da && da->args ? rte_kvargs_parse(da->args, NULL) : NULL;
	const char *budget = kv ? rte_kvargs_get(kv, "busy_budget") : NULL;

	if (pi->nb_rxd < AF_XDP_FILL)
		printf("  AF_XDP:RX ring(%u)小於 PMD 放在 fill ring 的 %u 個 mbuf:RX ring 滿時核心丟掉的封包"
		       "不算在 imissed(PMD 只回報 fill ring 空的 rx_dropped),要看 ethtool -S %s\n",
		       pi->nb_rxd, AF_XDP_FILL, pi->iface);
	if (!budget || strcmp(budget, "0"))
		printf("  AF_XDP:busy_budget=%s(preferred busy polling):每次空輪詢都是一個 recvfrom() 系統呼叫,"
		       "讓核心在這個 lcore 上跑介面的 NAPI;NAPI 在別的 CPU 執行時請加 busy_budget=0\n",
		       budget ? budget : "64,PMD 預設");
	rte_kvargs_free(kv);
}

static void describe_port(const struct ctx *c, uint16_t port, const struct rte_eth_dev_info *di,
			  const char *ptype, const char *rss)
{
	const struct port_info *pi = &c->port[port];
	char mac[RTE_ETHER_ADDR_FMT_SIZE], numa[48];
	const char *l4;

	rte_ether_format_addr(mac, sizeof(mac), &pi->mac);
	if (rte_eth_dev_socket_id(port) >= 0)
		snprintf(numa, sizeof(numa), "NUMA 節點 %d", rte_eth_dev_socket_id(port));
	else
		snprintf(numa, sizeof(numa), "NUMA 節點不限(虛擬裝置)");
	printf("連接埠 %u:%s(驅動程式 %s),MAC %s,%s\n", port, pi->name, pi->driver, mac, numa);
	printf("  佇列:最多 RX %u / TX %u,使用 RX %u / TX %u,描述子 RX %u / TX %u;RSS %s\n",
	       di->max_rx_queues, di->max_tx_queues, pi->nb_rxq, pi->nb_txq, pi->nb_rxd, pi->nb_txd,
	       rss);
	if (c->cfg.l4_cksum == L4CK_OFF)
		l4 = "不驗證(--l4-cksum off,計入未驗證)";
	else if (pi->flags & F_L4_HW)
		l4 = pi->flags & F_L4_SW ? "看網卡旗標,旗標未知時軟體驗證" :
					   "看網卡旗標,旗標未知時計入未驗證";
	else
		l4 = pi->flags & F_L4_SW ? "軟體驗證(網卡沒有 offload,--l4-cksum sw)" :
					   "網卡沒有 offload:計入未驗證(--l4-cksum sw 以軟體驗證)";
	printf("  offload:RX IPv4 checksum %s、TCP/UDP checksum %s;TX 多 segment %s;"
	       "連結事件 %s\n",
	       pi->flags & F_IP_HW ? "網卡驗證" : "軟體驗證", l4,
	       di->tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS ? "有" :
	       pi->tx_chains ? "不宣告(但這個 PMD 的 TX 會自己讀完 mbuf 鏈)" :
			       "無(跨 segment 的封包不送,計入丟棄)",
	       pi->lsc_intr ? "中斷(LSC callback)" :
	       pi->if_index ? "每秒查詢 Linux 介面的旗標" : "每秒查詢");
	printf("  封包分類:%s\n", ptype);
	if (pi->af_xdp) {
		char name[32];
		uint8_t mode = 0;
		uint32_t id = xdp_prog_id(pi->if_index, &mode);

		printf("  AF_XDP:介面 %s 上的 XDP 程式 %s(id %u,%s 模式)把這個 queue 的所有封包轉進"
		       " AF_XDP socket:核心在這個 queue 上收不到任何封包(包括 SSH),其他 queue 照常\n",
		       pi->iface,
		       id ? xdp_prog_name(id, name, sizeof(name)) : "(沒有)", id,
		       mode == XDP_ATTACHED_DRV ? "native" : mode == XDP_ATTACHED_SKB ? "SKB/generic" :
		       mode == XDP_ATTACHED_HW ? "offload" : "未知");
		describe_af_xdp(pi, di);
	}
}

/*
 * net_memif 的 server(預設角色)預設用抽象 socket(socket-abstract=yes):沒有檔案權限,同一個
 * 網路命名空間的任何行程(不需要 root)都能連上。DPDK 22.11 的 memif PMD 在對端連上後立刻斷線、
 * 送 HELLO 失敗時關閉 socket 卻沒有取消它的中斷 callback,EAL 的中斷執行緒隨即 PANIC,整個程式
 * 結束。這是 PMD 的問題,本程式修不了,只能說清楚:socket-abstract=no 讓 socket 成為檔案
 * (root 擁有,其他人不能寫),只有 root 能連。
 */
static void warn_memif(uint16_t port, const struct rte_eth_dev_info *di)
{
	const struct rte_devargs *da = di->device ? rte_dev_devargs(di->device) : NULL;
	struct rte_kvargs *kv;
	const char *role, *abstract;

	if (strcmp(di->driver_name, "net_memif"))
		return;
	printf("警告:連接埠 %u(net_memif):對端突然結束時,DPDK 22.11 的 memif PMD 在中斷執行緒解除共享記憶體的"
	       "對應,正在 rx_burst 的 lcore 可能讀到已解除對應的位址而讓本程式 SIGSEGV(PMD 的已知問題,見 README)\n",
	       port);
	if (!da || !da->args)
		return;
	kv = rte_kvargs_parse(da->args, NULL);
	role = kv ? rte_kvargs_get(kv, "role") : NULL;
	abstract = kv ? rte_kvargs_get(kv, "socket-abstract") : NULL;
	if ((!role || !strcmp(role, "server") || !strcmp(role, "master")) &&
	    (!abstract || strcmp(abstract, "no")))
		printf("警告:連接埠 %u(net_memif server)用抽象 socket:同一個網路命名空間的任何行程"
		       "(不需要 root)都能連上,而 DPDK 22.11 的 memif PMD 遇到連上就立刻斷線的對端會 "
		       "PANIC 結束整個程式;不可信的環境請加 socket-abstract=no(只有 root 能連)\n", port);
	rte_kvargs_free(kv);
}

/* 綁定的 Linux 介面(net_af_packet、net_tap)的旗標 IFF_*;沒有介面或讀不到時 -1 */
static int iface_flags(unsigned int if_index)
{
	struct ifreq ifr;
	int fd, flags = -1;

	memset(&ifr, 0, sizeof(ifr));
	if (!if_index || !if_indextoname(if_index, ifr.ifr_name))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0)
		flags = (unsigned short)ifr.ifr_flags;
	close(fd);
	return flags;
}

/* 打開 Linux 介面的 IFF_PROMISC 旗標(管理者的 ip link set IF promisc on 就是這個) */
static void set_iface_promisc(unsigned int if_index)
{
	struct ifreq ifr;
	int fd;

	memset(&ifr, 0, sizeof(ifr));
	if (!if_indextoname(if_index, ifr.ifr_name))
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_PROMISC;
		if (ioctl(fd, SIOCSIFFLAGS, &ifr))
			printf("注意:無法把介面 %s 的 promisc 旗標放回去:%s\n", ifr.ifr_name, strerror(errno));
	}
	close(fd);
}

/*
 * Linux 介面上的混雜模式,不經過 PMD:PMD 的 promiscuous_enable 設的是介面的 IFF_PROMISC 旗標,
 * 和管理者的 ip link set IF promisc on 是同一個旗標,行程被 kill -9 時就一直開著,下一次也分不出是誰開的。
 * 改用 libpcap 的做法:一個 AF_PACKET socket 登記 PACKET_MR_PROMISC,核心把介面的 promiscuity 計數加一
 * (網卡的 MAC 過濾照樣關掉),socket 關閉時核心自己減一:任何結束方式(包括 SIGKILL)都不留下,
 * 也不碰管理者的旗標。回傳 socket,失敗回傳 -1。
 */
static int promisc_membership(unsigned int if_index)
{
	struct packet_mreq mr = { .mr_ifindex = (int)if_index, .mr_type = PACKET_MR_PROMISC };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0); /* 協定 0:這個 socket 收不到任何封包 */

	if (fd >= 0 && setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof(mr))) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* 一個 /proc/sys 整數;讀不到(例如介面剛被刪除)時回傳 def */
static int read_sysctl(const char *path, int def)
{
	FILE *f = fopen(path, "r");
	int v = def;

	if (f) {
		if (fscanf(f, "%d", &v) != 1)
			v = def;
		fclose(f);
	}
	return v;
}

/*
 * 主機政策(respond 模式,只對綁在 Linux 介面上的連接埠:net_af_xdp、net_af_packet、net_tap):
 * 管理者以這些開關讓核心在這個介面上不回答 ping 或 ARP,我們代替核心回答時照樣遵守:
 *   net.ipv4.icmp_echo_ignore_all = 1(這個網路命名空間)              不回 ICMP echo
 *   介面的 NOARP 旗標(ip link set IF arp off),或 arp_ignore = 8       不回 ARP
 * arp_ignore 1-3 的意思是「目標位址要設在收到的介面上」:--ip 就是我們在這個介面上的位址,照常回答。
 * 綁定網卡(vfio-pci)時沒有核心在管這個介面,也就沒有主機政策。netfilter(nftables/iptables)
 * 看不到我們送出的回覆,它的規則管不到本程式:要過濾請在對端或交換器上做。
 */
static uint32_t host_policy(const struct port_info *pi)
{
	char path[96];
	int flags = iface_flags(pi->if_index), ign;
	uint32_t pol = 0;

	if (read_sysctl("/proc/sys/net/ipv4/icmp_echo_ignore_all", 0) == 1)
		pol |= POL_NO_ECHO;
	snprintf(path, sizeof(path), "/proc/sys/net/ipv4/conf/%s/arp_ignore", pi->iface);
	ign = RTE_MAX(read_sysctl("/proc/sys/net/ipv4/conf/all/arp_ignore", 0), read_sysctl(path, 0));
	if (ign == 8 || (flags >= 0 && (flags & IFF_NOARP)))
		pol |= POL_NO_ARP;
	return pol;
}

/* --ip 也是核心在這個介面上的位址嗎(net_af_packet、net_tap 只是旁聽:核心也會回答,對端收到兩個回覆) */
static bool kernel_has_ip(const struct port_info *pi, rte_be32_t ip)
{
	struct ifaddrs *ifs, *i;
	bool found = false;

	if (getifaddrs(&ifs))
		return false;
	for (i = ifs; i && !found; i = i->ifa_next)
		found = i->ifa_addr && i->ifa_addr->sa_family == AF_INET && !strcmp(i->ifa_name, pi->iface) &&
			((struct sockaddr_in *)(void *)i->ifa_addr)->sin_addr.s_addr == ip;
	freeifaddrs(ifs);
	return found;
}

/* port_init 的錯誤:寫進 c->err,由呼叫者印出(或改用 net_af_packet 時當作原因) */
static int __rte_format_printf(3, 4) port_err(struct ctx *c, int ret, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return ret ? ret : -1;
}

/*
 * net_af_xdp 啟動前,介面上已經有 XDP 程式:多半是上一次被 SIGKILL 的 DPDK/AF_XDP 程式留下的
 * (libxdp 以 netlink 掛上的程式不會隨行程結束而卸下)。libxdp 會沿用它自己的 xsk_def_prog,
 * 本程式結束時由 PMD 一併卸下;別人的程式則讓 net_af_xdp 失敗,改用 net_af_packet。
 */
static void note_old_xdp_prog(uint16_t port, const struct port_info *pi)
{
	char name[32];
	uint32_t id = xdp_prog_id(pi->if_index, NULL);

	if (!id)
		return;
	xdp_prog_name(id, name, sizeof(name));
	if (!strcmp(name, "xsk_def_prog"))
		printf("注意:連接埠 %u 的介面 %s 上已掛著 libxdp 的 xsk_def_prog(id %u),多半是上一次"
		       "被 SIGKILL 的 AF_XDP 程式留下的;net_af_xdp 沿用它,結束時一併卸下\n",
		       port, pi->iface, id);
	else
		printf("注意:連接埠 %u 的介面 %s 上已掛著別的 XDP 程式 %s(id %u):本程式不會動它\n",
		       port, pi->iface, name, id);
}

/* 結束後確認 net_af_xdp 的介面上沒有留下 XDP 程式(XDP 程式不屬於任何行程,留下就一直在) */
static void check_xdp_left(const struct ctx *c)
{
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		const struct port_info *pi = &c->port[c->ports[i]];
		uint32_t id;

		if (!pi->af_xdp || !pi->if_index)
			continue;
		if (pi->iface_gone) {
			printf("介面 %s 已經不存在,它的 XDP 程式隨介面一起消失\n", pi->iface);
			continue;
		}
		id = xdp_prog_id(pi->if_index, NULL);
		if (!id)
			printf("已確認介面 %s 上沒有留下 XDP 程式\n", pi->iface);
		else if (id == pi->xdp_prog)
			fprintf(stderr, "警告:介面 %s 上仍掛著 net_af_xdp 的 XDP 程式(id %u);"
					"請執行 ip link set dev %s xdp off\n", pi->iface, id, pi->iface);
	}
}

static unsigned int nb_pools(const struct ctx *c)
{
	unsigned int n = 0;

	for (unsigned int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		n += c->pool[s] != NULL;
	return n;
}

/* 標準順序:dev_info -> configure -> adjust_nb_rx_tx_desc -> 佇列 -> start -> 混雜模式 */
static int port_init(struct ctx *c, uint16_t port)
{
	struct port_info *pi = &c->port[port];
	struct rte_eth_conf conf = { 0 };
	struct rte_eth_dev_info di;
	struct rte_eth_rxconf rxconf;
	struct rte_eth_txconf txconf;
	struct rte_eth_rss_conf rss = { 0 };
	struct rte_mempool *pool = c->pool[port_socket(port)];
	char rss_text[96] = "未使用(單一 RX 佇列)";
	const char *ptype;
	int ret, flags;

	ret = rte_eth_dev_info_get(port, &di);
	if (ret) {
		return port_err(c, ret, "連接埠 %u rte_eth_dev_info_get:%s", port, strerror(-ret));
	}
	snprintf(pi->driver, sizeof(pi->driver), "%s", di.driver_name);
	rte_eth_dev_get_name_by_port(port, pi->name);
	pi->if_index = di.if_index;
	if (!pi->if_index || !if_indextoname(pi->if_index, pi->iface))
		pi->iface[0] = '\0';
	pi->af_xdp = !strcmp(di.driver_name, "net_af_xdp");
	if (pi->af_xdp)
		note_old_xdp_prog(port, pi);
	pi->nb_rxq = c->cfg.rxq;
	pi->nb_txq = c->nb_fwd_lcores;
	if (pi->nb_rxq > di.max_rx_queues || pi->nb_txq > di.max_tx_queues) {
		return port_err(c, -EINVAL, "連接埠 %u(%s)最多 %u 個 RX / %u 個 TX 佇列,"
				"需要 %u / %u;請減少 --rxq 或 lcore 數",
				port, pi->driver, di.max_rx_queues, di.max_tx_queues, pi->nb_rxq,
				pi->nb_txq);
	}

	/* 多個 RX 佇列:網卡支援 RSS 就讓硬體依 IP/TCP/UDP 雜湊分流 */
	if (pi->nb_rxq > 1 && di.flow_type_rss_offloads) {
		conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
		conf.rx_adv_conf.rss_conf.rss_hf = (RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP) &
						   di.flow_type_rss_offloads;
		if (!conf.rx_adv_conf.rss_conf.rss_hf)
			conf.rx_adv_conf.rss_conf.rss_hf = di.flow_type_rss_offloads;
	} else if (pi->nb_rxq > 1) {
		snprintf(rss_text, sizeof(rss_text), "不支援:%u 個 RX 佇列由 PMD 自己分配"
			 "(net_af_packet 用 PACKET_FANOUT 雜湊)", pi->nb_rxq);
	}
	/* checksum:網卡會驗證就用它的判定,解析時不再以軟體重算 */
	if (di.rx_offload_capa & RTE_ETH_RX_OFFLOAD_IPV4_CKSUM) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_IPV4_CKSUM;
		pi->flags |= F_IP_HW;
	}
	if (c->cfg.l4_cksum != L4CK_OFF &&
	    (di.rx_offload_capa & (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) ==
		    (RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)) {
		conf.rxmode.offloads |= RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
		pi->flags |= F_L4_HW;
	}
	if (c->cfg.l4_cksum == L4CK_SW)
		pi->flags |= F_L4_SW;
	/* 轉送多 segment 的封包(巨型訊框)需要 TX MULTI_SEGS;全部 mbuf 同一個 pool 可快速釋放 */
	if (di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MULTI_SEGS)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MULTI_SEGS;
	pi->tx_chains = tx_takes_chains(&di);
	/*
	 * MBUF_FAST_FREE 要求一個 TX 佇列上的 mbuf 全部來自同一個 pool:fwd 把別的連接埠收到的 mbuf 送出去,
	 * 兩個連接埠在不同 NUMA 節點(各有一個 pool)時就不成立,PMD 會把 mbuf 還給錯的 pool
	 */
	if ((di.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE) &&
	    (c->cfg.mode != MODE_FWD || nb_pools(c) == 1))
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	/* 連結事件:PMD 支援 LSC 中斷就註冊 callback,否則主 lcore 每秒查詢 */
	pi->lsc_intr = di.dev_flags && (*di.dev_flags & RTE_ETH_DEV_INTR_LSC);
	conf.intr_conf.lsc = pi->lsc_intr;

	ret = rte_eth_dev_configure(port, pi->nb_rxq, pi->nb_txq, &conf);
	if (ret) {
		return port_err(c, ret, "連接埠 %u rte_eth_dev_configure:%s", port, strerror(-ret));
	}
	pi->nb_rxd = (uint16_t)desc_count(&di, c->cfg.rxd, true);
	pi->nb_txd = (uint16_t)desc_count(&di, c->cfg.txd, false);
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &pi->nb_rxd, &pi->nb_txd);
	if (ret) {
		return port_err(c, ret, "連接埠 %u 調整描述子數量:%s", port, strerror(-ret));
	}
	rxconf = di.default_rxconf;
	rxconf.offloads = conf.rxmode.offloads;
	for (uint16_t q = 0; q < pi->nb_rxq; q++) {
		ret = rte_eth_rx_queue_setup(port, q, pi->nb_rxd, port_socket(port), &rxconf, pool);
		if (ret)
			return port_err(c, ret, "連接埠 %u RX 佇列 %u 設定失敗:%s", port, q,
					strerror(-ret));
	}
	txconf = di.default_txconf;
	txconf.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < pi->nb_txq; q++) {
		ret = rte_eth_tx_queue_setup(port, q, pi->nb_txd, port_socket(port), &txconf);
		if (ret)
			return port_err(c, ret, "連接埠 %u TX 佇列 %u 設定失敗:%s", port, q,
					strerror(-ret));
	}
	ptype = choose_ptype(c, port);
	if (pi->lsc_intr)
		rte_eth_dev_callback_register(port, RTE_ETH_EVENT_INTR_LSC, on_link_event, c);
	flags = iface_flags(pi->if_index);
	pi->admin_promisc = flags >= 0 && (flags & IFF_PROMISC);
	ret = rte_eth_dev_start(port);
	if (ret) {
		return port_err(c, ret, "連接埠 %u 啟動失敗:%s", port, strerror(-ret));
	}
	/*
	 * rte_eth_dev_start 重播 ethdev 記得的混雜模式設定:沒開就呼叫 PMD 的 promiscuous_disable,
	 * net_af_packet / net_af_xdp / net_tap 因此清掉介面的 IFF_PROMISC。那是管理者的旗標:放回去
	 */
	flags = iface_flags(pi->if_index);
	if (pi->admin_promisc && flags >= 0 && !(flags & IFF_PROMISC))
		set_iface_promisc(pi->if_index);
	/* RSS:讀回 PMD 實際使用的雜湊類型,不是我們要求的 */
	if (conf.rxmode.mq_mode == RTE_ETH_MQ_RX_RSS) {
		if (rte_eth_dev_rss_hash_conf_get(port, &rss) == 0)
			snprintf(rss_text, sizeof(rss_text), "已啟用(PMD 回報 rss_hf 0x%" PRIx64 ")",
				 rss.rss_hf);
		else
			snprintf(rss_text, sizeof(rss_text), "已啟用(要求 rss_hf 0x%" PRIx64
				 ",PMD 不回報實際值)", conf.rx_adv_conf.rss_conf.rss_hf);
	}
	rte_eth_macaddr_get(port, &pi->mac);
	if (pi->af_xdp)
		pi->xdp_prog = xdp_prog_id(pi->if_index, NULL);
	/*
	 * 混雜模式:fwd、macswap、rxonly 要收到線上所有的封包(像 testpmd);respond 只回應給自己
	 * MAC 的封包,不需要。綁在 Linux 介面上的連接埠以 PACKET_MR_PROMISC 向核心登記(見
	 * promisc_membership():任何結束方式都不留下);其他連接埠用 PMD 的混雜模式,結束時關掉。
	 * 有些虛擬裝置不支援混雜模式,不算致命錯誤。
	 */
	if (c->cfg.mode != MODE_RESPOND && pi->if_index) {
		pi->promisc_fd = promisc_membership(pi->if_index);
		pi->promisc_member = pi->promisc_fd >= 0;
		if (!pi->promisc_member)
			printf("注意:連接埠 %u 無法在介面 %s 上登記混雜模式(PACKET_MR_PROMISC):%s\n", port,
			       pi->iface, strerror(errno));
	} else if (c->cfg.mode != MODE_RESPOND && rte_eth_promiscuous_get(port) == 0) {
		ret = rte_eth_promiscuous_enable(port);
		if (ret == 0)
			pi->promisc_set = true;
		else if (ret != -ENOTSUP)
			printf("注意:連接埠 %u 無法開啟混雜模式:%s\n", port, strerror(-ret));
	}
	pi->link_up = -1;
	pi->policy = -1;
	describe_port(c, port, &di, ptype, rss_text);
	if (c->cfg.mode == MODE_RESPOND && c->cfg.ip[port] && pi->if_index && !pi->af_xdp &&
	    kernel_has_ip(pi, c->cfg.ip[port])) {
		char a[INET_ADDRSTRLEN];

		inet_ntop(AF_INET, &c->cfg.ip[port], a, sizeof(a));
		printf("注意:--ip %u=%s 也是核心在介面 %s 上的位址:%s 只是旁聽,核心也會回答,每個 request"
		       " 會有兩個回覆;請給本程式另一個位址\n", port, a, pi->iface, pi->driver);
	}
	warn_memif(port, &di);
	return 0;
}

/*
 * net_af_xdp 做不到(核心沒有 AF_XDP、沒有權限載入 XDP 程式、介面上已有別人的 XDP 程式、
 * libxdp 找不到它的 XDP 物件檔…)時改用 net_af_packet 綁同一個介面:移除這個 vdev,以同樣的
 * 連接埠編號建立 net_af_packet(DPDK 的熱插拔 API),印一行原因。回傳 0 = 可以重試 port_init。
 */
static int af_xdp_fallback(struct ctx *c, uint16_t port, const char *pmd_log)
{
	struct port_info *pi = &c->port[port];
	char name[RTE_ETH_NAME_MAX_LEN + 16], args[64], why[sizeof(c->err)], pmd_why[256];
	uint16_t again;

	if (!pi->af_xdp || pi->fell_back || !pi->iface[0])
		return -1;
	last_log_line(pmd_log, pmd_why, sizeof(pmd_why));
	snprintf(why, sizeof(why), "%s", c->err);
	snprintf(name, sizeof(name), "net_af_packet_%s", pi->name);
	snprintf(args, sizeof(args), "iface=%s", pi->iface);
	rte_eth_dev_close(port);
	if (rte_eal_hotplug_remove("vdev", pi->name) && rte_eth_dev_is_valid_port(port))
		return -1;
	if (rte_eal_hotplug_add("vdev", name, args) || rte_eth_dev_get_port_by_name(name, &again) ||
	    again != port) {
		port_err(c, -ENODEV, "連接埠 %u:net_af_xdp 做不到(%s),改用 net_af_packet(%s)也失敗",
			 port, why, args);
		return -1;
	}
	again = pi->peer;
	memset(pi, 0, sizeof(*pi));
	pi->enabled = true;
	pi->peer = again;
	pi->fell_back = true;
	printf("注意:連接埠 %u 無法使用 net_af_xdp(%s%s%s),改用 net_af_packet 綁在同一個介面 %s"
	       "(每個封包多經過一次核心的 AF_PACKET 環與複製)\n",
	       port, why, pmd_why[0] ? ";PMD:" : "", pmd_why, args + 6);
	fflush(stdout);
	return 0;
}

/* 等連結建立(最多 LINK_WAIT_MS),印出每個連接埠的狀態;memif 要等對端連上才會 up */
static void wait_links(struct ctx *c)
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
	poll_link_events(c);
}

/* ==== 4. lcore 與 stream ============================================================ */

/*
 * 把每個 (連接埠, RX 佇列) 做成一個 stream,平均分給 worker lcore;worker 不夠時主 lcore 也分擔。
 * 每個 lcore 的 stream 陣列以 rte_zmalloc_socket 配置在該 lcore 的 NUMA 節點:計數由它寫,
 * 記憶體就該在它旁邊。連接埠在別的 NUMA 節點時提出警告。
 */
static int assign_streams(struct ctx *c)
{
	unsigned int workers[RTE_MAX_LCORE], nw = 0, lid, total, k = 0;
	unsigned int per[RTE_MAX_LCORE] = { 0 };

	RTE_LCORE_FOREACH_WORKER(lid)
		workers[nw++] = lid;
	total = c->nb_ports * c->cfg.rxq;
	if (nw < total)
		workers[nw++] = rte_get_main_lcore(); /* 主 lcore 在統計之間也輪詢佇列 */
	c->nb_fwd_lcores = RTE_MIN(nw, total);
	for (unsigned int i = 0; i < total; i++)
		per[workers[i % c->nb_fwd_lcores]]++;
	for (unsigned int i = 0; i < c->nb_fwd_lcores; i++) {
		struct lcore_conf *lc = &c->lconf[workers[i]];

		lc->txq = i;
		lc->streams = rte_zmalloc_socket("streams", sizeof(struct stream) * per[workers[i]],
						 RTE_CACHE_LINE_SIZE,
						 (int)rte_lcore_to_socket_id(workers[i]));
		if (!lc->streams) {
			fprintf(stderr, "錯誤:無法在 NUMA 節點 %u 配置計數器記憶體\n",
				rte_lcore_to_socket_id(workers[i]));
			return -1;
		}
	}
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		for (unsigned int q = 0; q < c->cfg.rxq; q++, k++) {
			unsigned int l = workers[k % c->nb_fwd_lcores];
			struct lcore_conf *lc = &c->lconf[l];
			struct stream *s = &lc->streams[lc->n_streams++];
			uint16_t port = c->ports[i];
			int psock = rte_eth_dev_socket_id(port);

			s->rx_port = port;
			s->rx_queue = q;
			s->tx_port = c->cfg.mode == MODE_FWD ? c->port[port].peer : port;
			s->tx_queue = lc->txq;
			s->lcore = l;
			s->ip = c->cfg.ip[port];
			c->all[c->nb_streams++] = s;
			if (psock >= 0 && (unsigned int)psock != rte_lcore_to_socket_id(l))
				printf("警告:連接埠 %u 在 NUMA 節點 %d,輪詢它的 lcore %u 在節點 %u:"
				       "每個封包都要跨節點存取記憶體;請改用同一節點的 lcore(-l)\n",
				       port, psock, l, rte_lcore_to_socket_id(l));
		}
	}
	return 0;
}

/* 連接埠啟動後才知道 flags 與 MAC:填進 stream */
static void finish_streams(struct ctx *c)
{
	for (unsigned int i = 0; i < c->nb_streams; i++) {
		struct stream *s = c->all[i];

		s->flags = c->port[s->rx_port].flags | (c->port[s->tx_port].tx_chains ? 0 : F_TX_FLAT);
		s->mac = c->port[s->rx_port].mac;
	}
}

/*
 * respond:讀主機政策並交給輪詢這個連接埠的 stream(主 lcore 啟動時與每秒一次;只在改變時印一行,
 * 對端無法讓它印更多)。轉送 lcore 只在 ARP/ICMP 的冷路徑讀它。
 */
static void refresh_policy(struct ctx *c)
{
	if (c->cfg.mode != MODE_RESPOND)
		return;
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		struct port_info *pi = &c->port[c->ports[i]];
		uint32_t pol;

		if (!pi->if_index || pi->iface_gone)
			continue;
		pol = host_policy(pi);
		if ((int)pol == pi->policy)
			continue;
		printf("連接埠 %u(介面 %s)主機政策:ICMP echo %s、ARP %s%s\n", c->ports[i], pi->iface,
		       pol & POL_NO_ECHO ? "不回答(net.ipv4.icmp_echo_ignore_all=1)" : "回答",
		       pol & POL_NO_ARP ? "不回答(介面 NOARP 或 arp_ignore=8)" : "回答",
		       pi->policy < 0 ? ";每秒重讀;回覆不經過 netfilter,防火牆規則管不到本程式" : "");
		fflush(stdout);
		pi->policy = (int)pol;
		for (unsigned int j = 0; j < c->nb_streams; j++)
			if (c->all[j]->rx_port == c->ports[i])
				__atomic_store_n(&c->all[j]->policy, pol, __ATOMIC_RELAXED);
	}
}

/* ==== 5. 封包分類 ================================================================= */

static inline uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* 把 32 位元的 one's complement 加總折成 16 位元 */
static inline uint16_t fold32(uint64_t s)
{
	s = (s >> 32) + (s & 0xffffffff);
	s = (s >> 16) + (s & 0xffff);
	s = (s >> 16) + (s & 0xffff);
	return (uint16_t)((s >> 16) + (s & 0xffff));
}

/*
 * IPv4 標頭 checksum:正確的標頭(含 checksum 欄位)以 one's complement 加總為 0xffff。
 * 幾乎所有封包 IHL = 5(20 位元組):兩個 64 位元 + 一個 32 位元載入,五個 32 位元字直接相加。
 * 折成 16 位元(fold32)得 0xffff,等於「總和不為 0 且是 0xffff 的倍數」(65536 ≡ 1 mod 65535,
 * 折疊只是在算 mod 65535,而且只有總和是 0 時才折出 0),後者少掉四輪折疊:常數除法是一個乘法與位移。
 */
static __rte_always_inline bool ipv4_hdr_ok(const uint8_t *ip, uint32_t ihl)
{
	if (likely(ihl == sizeof(struct rte_ipv4_hdr))) {
		uint64_t a, b, sum;
		uint32_t w;

		memcpy(&a, ip, 8);
		memcpy(&b, ip + 8, 8);
		memcpy(&w, ip + 16, 4);
		sum = (a & 0xffffffff) + (a >> 32) + (b & 0xffffffff) + (b >> 32) + w;
		return sum % 0xffff == 0; /* 呼叫者確認過 ip[0] == 0x45:總和不會是 0 */
	}
	return rte_raw_cksum(ip, ihl) == 0xffff;
}

/*
 * L4 checksum 的軟體驗證:虛擬標頭(位址、協定、L4 長度)+ L4 資料,可跨 segment。
 * addrs 指向來源+目的位址(IPv4 8 位元組、IPv6 32 位元組),在標頭緩衝區裡一定連續。
 */
static bool l4_sum_ok(const struct rte_mbuf *m, const uint8_t *addrs, uint32_t alen,
		      uint8_t proto, uint32_t l4_off, uint32_t l4_len)
{
	uint16_t data;
	uint64_t s;

	if (rte_raw_cksum_mbuf(m, l4_off, l4_len, &data))
		return false;
	s = (uint64_t)rte_raw_cksum(addrs, alen) + data + rte_cpu_to_be_16((uint16_t)proto) +
	    rte_cpu_to_be_16((uint16_t)l4_len);
	return fold32(s) == 0xffff;
}

/*
 * 這個封包的 L4 checksum 由誰判定:-1 = 網卡判定壞了,0 = 網卡判定正確,
 * 1 = 以軟體驗證(--l4-cksum sw 且網卡沒判定),2 = 沒有人驗證(計入「未驗證」)
 */
static __rte_always_inline int l4_verdict(const struct rte_mbuf *m, unsigned int fl)
{
	if (fl & F_L4_HW) {
		uint64_t f = m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK;

		if (f == RTE_MBUF_F_RX_L4_CKSUM_BAD)
			return -1;
		if (f == RTE_MBUF_F_RX_L4_CKSUM_GOOD)
			return 0;
	}
	return (fl & F_L4_SW) ? 1 : 2;
}

/*
 * TCP / UDP / ICMPv6 標頭檢查(IPv4 與 IPv6 共用)。cap = 可讀的標頭位元組,l4_len 依 IP 標頭。
 * 回傳 K_MALFORMED、0(正確)或 CLS_UNVERIFIED(標頭正確,checksum 沒有人驗證)。
 * 第一個片段:UDP 長度涵蓋整個資料包,checksum 無法驗證。
 */
static __rte_always_inline uint32_t l4_check(const struct rte_mbuf *m, const uint8_t *p,
					     uint32_t cap, uint8_t proto, uint32_t l4_off,
					     uint32_t l4_len, bool first, const uint8_t *addrs,
					     uint32_t alen, unsigned int fl)
{
	const uint8_t *l4 = p + l4_off;
	uint32_t sum_len = l4_len;
	int who;

	switch (proto) {
	case IPPROTO_TCP:
		if (l4_len < sizeof(struct rte_tcp_hdr) || cap < l4_off + sizeof(struct rte_tcp_hdr))
			return K_MALFORMED;
		if ((l4[12] >> 4) < 5 || (l4[12] >> 4) * 4u > l4_len)
			return K_MALFORMED;
		break;
	case IPPROTO_UDP: {
		uint32_t ulen;

		if (l4_len < sizeof(struct rte_udp_hdr) || cap < l4_off + sizeof(struct rte_udp_hdr))
			return K_MALFORMED;
		ulen = rd16(l4 + 4);
		if (ulen < sizeof(struct rte_udp_hdr) || (first ? ulen < l4_len : ulen > l4_len))
			return K_MALFORMED;
		if (alen == 8 && rd16(l4 + 6) == 0)
			return 0;           /* IPv4 UDP checksum 0 = 沒有 checksum,沒有東西要驗證 */
		sum_len = ulen;
		break;
	}
	default: /* ICMPv6 */
		if (l4_len < 4 || cap < l4_off + 4)
			return K_MALFORMED;
		break;
	}
	if (first)
		return CLS_UNVERIFIED;
	who = l4_verdict(m, fl);
	if (who != 1)
		return who < 0 ? K_MALFORMED : who == 2 ? CLS_UNVERIFIED : 0;
	/* IPv6 的 UDP checksum 不可為 0(RFC 8200 8.1) */
	if (proto == IPPROTO_UDP && alen == 32 && rd16(l4 + 6) == 0)
		return K_MALFORMED;
	return l4_sum_ok(m, addrs, alen, proto, l4_off, sum_len) ? 0 : K_MALFORMED;
}

/*
 * ICMP(IPv4):至少 8 位元組;checksum 涵蓋整個訊息(沒有虛擬標頭),網卡不驗證,
 * 只有 F_L4_SW 時以軟體驗證(第一個片段除外)。respond 一律驗證:不回覆壞掉的 request。
 * 回傳同 l4_check()。
 */
static __rte_always_inline uint32_t icmp_check(const struct rte_mbuf *m, uint32_t l4_off,
					       uint32_t l4_len, bool first, unsigned int fl)
{
	uint16_t sum;

	if (l4_len < sizeof(struct rte_icmp_hdr))
		return K_MALFORMED;
	if (first || !(fl & F_L4_SW))
		return CLS_UNVERIFIED;
	return rte_raw_cksum_mbuf(m, l4_off, l4_len, &sum) == 0 && sum == 0xffff ? 0 : K_MALFORMED;
}

/* L4 檢查的結果(K_MALFORMED、0 或 CLS_UNVERIFIED)加上類別與片段旗標 */
static __rte_always_inline uint32_t l4_kind(uint32_t r, uint32_t kind, bool first)
{
	if (r == K_MALFORMED)
		return K_MALFORMED;
	return kind | r | (first ? CLS_FIRST_FRAG : 0);
}

static __rte_always_inline uint32_t parse_ipv4(const struct rte_mbuf *m, const uint8_t *p, uint32_t cap,
				  uint32_t len, uint32_t off, unsigned int fl)
{
	const uint8_t *ip = p + off;
	uint32_t ihl, tot, l4_off, l4_len;
	uint16_t frag;
	bool first;

	if (unlikely(cap < off + sizeof(struct rte_ipv4_hdr)))
		return K_MALFORMED;
	if (likely(ip[0] == 0x45)) {
		ihl = sizeof(struct rte_ipv4_hdr);
	} else {
		ihl = (ip[0] & 0xf) * 4u;
		if ((ip[0] >> 4) != 4 || ihl < sizeof(struct rte_ipv4_hdr) || cap < off + ihl)
			return K_MALFORMED;
	}
	tot = rd16(ip + 2);
	if (unlikely(tot < ihl || len < off + tot))
		return K_MALFORMED;
	/* 標頭 checksum:網卡判定過就看旗標,否則軟體計算 */
	if (fl & F_IP_HW) {
		uint64_t f = m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK;

		if (f == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
		    (f == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN && !ipv4_hdr_ok(ip, ihl)))
			return K_MALFORMED;
	} else if (unlikely(!ipv4_hdr_ok(ip, ihl))) {
		return K_MALFORMED;
	}
	frag = rd16(ip + 6);
	if (frag & RTE_IPV4_HDR_OFFSET_MASK)
		return K_IPV4;          /* 非第一個片段:沒有 L4 標頭 */
	first = frag & RTE_IPV4_HDR_MF_FLAG;
	l4_off = off + ihl;
	l4_len = tot - ihl;
	switch (ip[9]) {
	case IPPROTO_TCP:
		return l4_kind(l4_check(m, p, cap, IPPROTO_TCP, l4_off, l4_len, first, ip + 12, 8, fl),
			       K_IPV4_TCP, first);
	case IPPROTO_UDP:
		return l4_kind(l4_check(m, p, cap, IPPROTO_UDP, l4_off, l4_len, first, ip + 12, 8, fl),
			       K_IPV4_UDP, first);
	case IPPROTO_ICMP:
		return l4_kind(icmp_check(m, l4_off, l4_len, first, fl), K_IPV4_ICMP, first);
	default:
		return K_IPV4;          /* 其他 L4 協定只計 IPv4 */
	}
}

static inline bool ipv6_ext_hdr(uint8_t nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS ||
	       nh == IPPROTO_FRAGMENT;
}

/*
 * 冷路徑:跳過 IPv6 擴充標頭。每個至少 8 位元組,長度欄位以 8 位元組為單位(fragment 固定 8)。
 * 回傳 0 = 繼續解析 nh、hoff 指出的 L4,K_IPV6 = 只計 IPv6(非第一片段,或標頭超出可讀範圍),
 * K_MALFORMED = 格式錯誤。
 */
static __rte_noinline uint32_t skip_ipv6_ext(const uint8_t *p, uint32_t cap, uint32_t end,
					     uint8_t *nh, uint32_t *hoff, bool *first)
{
	while (ipv6_ext_hdr(*nh)) {
		uint32_t elen;

		if (end < *hoff + 8)
			return K_MALFORMED;
		if (cap < *hoff + 8)
			return K_IPV6;  /* 多 segment 封包的標頭超出讀取範圍:不解析 L4 */
		if (*nh == IPPROTO_FRAGMENT) {
			uint16_t fo = rd16(p + *hoff + 2);

			elen = 8;
			if (fo & 0xfff8)
				return K_IPV6; /* 非第一個片段 */
			*first = fo & 1;        /* M 旗標:後面還有片段 */
		} else {
			elen = (p[*hoff + 1] + 1u) * 8;
		}
		if (end < *hoff + elen)
			return K_MALFORMED;
		*nh = p[*hoff];
		*hoff += elen;
	}
	return 0;
}

static __rte_always_inline uint32_t parse_ipv6(const struct rte_mbuf *m, const uint8_t *p, uint32_t cap,
				  uint32_t len, uint32_t off, unsigned int fl)
{
	const uint8_t *ip6 = p + off;
	uint32_t plen, end, hoff = off + sizeof(struct rte_ipv6_hdr), k;
	uint8_t nh;
	bool first = false;

	if (unlikely(cap < hoff || (ip6[0] >> 4) != 6))
		return K_MALFORMED;
	plen = rd16(ip6 + 4);
	end = hoff + plen;
	if (unlikely(plen == 0 || len < end))
		return K_MALFORMED;
	nh = ip6[6];
	if (unlikely(ipv6_ext_hdr(nh))) {
		k = skip_ipv6_ext(p, cap, end, &nh, &hoff, &first);
		if (k)
			return k;
		/* 多 segment 封包:很長的擴充標頭把 L4 推出讀取範圍時只計 IPv6 */
		if (cap < len && cap < hoff + sizeof(struct rte_tcp_hdr))
			return K_IPV6;
	}
	switch (nh) {
	case IPPROTO_TCP:
		k = K_IPV6_TCP;
		break;
	case IPPROTO_UDP:
		k = K_IPV6_UDP;
		break;
	case IPPROTO_ICMPV6:
		k = K_IPV6_ICMPV6;
		break;
	default:
		return K_IPV6;          /* 其他(包括 IPv6 裡的 ICMPv4)只計 IPv6 */
	}
	return l4_kind(l4_check(m, p, cap, nh, hoff, end - hoff, first, ip6 + 8, 32, fl), k, first);
}

static __rte_always_inline uint32_t with_tags(uint32_t k, uint32_t tags)
{
	return CLS_KIND(k) == K_MALFORMED ? k : k | tags << CLS_TAG_SHIFT;
}

/*
 * 逐層解析一個訊框。p 有 cap 個可讀位元組(單一 segment 時就是整個封包),
 * len 是整個封包的長度(pkt_len):所有長度欄位都對照 len,讀取都對照 cap。
 */
static __rte_always_inline uint32_t parse_frame(const struct rte_mbuf *m, const uint8_t *p,
						uint32_t cap, uint32_t len, unsigned int fl)
{
	uint32_t off = RTE_ETHER_HDR_LEN, tags = 0;
	uint16_t type;

	if (unlikely(cap < RTE_ETHER_HDR_LEN))
		return K_MALFORMED;
	type = rd16(p + 12);
	while (unlikely(type == RTE_ETHER_TYPE_VLAN || type == RTE_ETHER_TYPE_QINQ)) {
		if (tags == MAX_VLAN_TAGS || cap < off + 4)
			return K_MALFORMED;
		type = rd16(p + off + 2);
		off += 4;
		tags++;
	}
	if (likely(type == RTE_ETHER_TYPE_IPV4))
		return with_tags(parse_ipv4(m, p, cap, len, off, fl), tags);
	if (type == RTE_ETHER_TYPE_IPV6)
		return with_tags(parse_ipv6(m, p, cap, len, off, fl), tags);
	if (type == RTE_ETHER_TYPE_ARP) {
		if (cap < off + sizeof(struct rte_arp_hdr) || p[off + 4] != RTE_ETHER_ADDR_LEN ||
		    p[off + 5] != 4)
			return K_MALFORMED;
		return K_ARP | tags << CLS_TAG_SHIFT;
	}
	return K_OTHER | tags << CLS_TAG_SHIFT;
}

/*
 * 冷路徑:封包跨多個 mbuf segment(巨型訊框)。先確認 segment 鏈的長度加起來等於 pkt_len
 * (不相信 PMD),再以 rte_pktmbuf_read 把前 HDR_WINDOW 位元組的標頭讀成連續的一塊。
 */
static __rte_noinline uint32_t classify_multiseg(const struct rte_mbuf *m, unsigned int fl)
{
	uint8_t buf[HDR_WINDOW];
	uint32_t len = rte_pktmbuf_pkt_len(m), cap = RTE_MIN(len, (uint32_t)HDR_WINDOW), sum = 0;
	const uint8_t *p;

	for (const struct rte_mbuf *s = m; s; s = s->next)
		sum += rte_pktmbuf_data_len(s);
	if (sum != len)
		return K_MALFORMED;
	p = rte_pktmbuf_read(m, 0, cap, buf);
	if (!p)
		return K_MALFORMED;
	return parse_frame(m, p, cap, len, fl) | CLS_MULTISEG;
}

/* 軟體分類:單一 segment 的封包(幾乎全部)直接在 mbuf 資料上解析 */
static __rte_always_inline uint32_t classify_sw(const struct rte_mbuf *m, unsigned int fl)
{
	uint32_t len = rte_pktmbuf_pkt_len(m);

	if (unlikely(len != rte_pktmbuf_data_len(m)))
		return classify_multiseg(m, fl);
	return parse_frame(m, rte_pktmbuf_mtod(m, const uint8_t *), len, len, fl);
}

/*
 * 硬體分類:PMD 在 m->packet_type 認出 IPv4/IPv6 與 TCP/UDP/ICMP/片段、而且網卡判定過 checksum 時,
 * 直接計數,不讀封包內容;checksum 只看 ol_flags。其他封包(包括網卡沒判定 checksum 的)交給軟體解析。
 * 注意:PMD 把所有片段(包括第一個)標成 L4_FRAG,所以片段只計 IPv4/IPv6。
 */
static __rte_always_inline uint32_t classify_hw(const struct rte_mbuf *m, unsigned int fl)
{
	uint32_t pt = m->packet_type, l4 = pt & RTE_PTYPE_L4_MASK, tags = 0, k, uv;
	uint64_t ol = m->ol_flags;
	bool v4 = RTE_ETH_IS_IPV4_HDR(pt), v6 = RTE_ETH_IS_IPV6_HDR(pt), l4_unknown;

	if (unlikely(!(v4 || v6) || !(l4 == RTE_PTYPE_L4_TCP || l4 == RTE_PTYPE_L4_UDP ||
				      l4 == RTE_PTYPE_L4_ICMP || l4 == RTE_PTYPE_L4_FRAG)))
		return classify_sw(m, fl);
	if ((ol & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_BAD ||
	    (ol & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_BAD)
		return K_MALFORMED;
	/*
	 * 網卡沒有判定的 checksum(旗標 UNKNOWN:網卡沒有這個 offload,或這個封包它沒驗)照標頭註解
	 * 說的處理:IPv4 標頭一律以軟體驗證;L4 只在 --l4-cksum sw 時(片段的 L4 無法驗證;
	 * ICMP 的 checksum 網卡從不判定),否則計入「未驗證」。
	 */
	l4_unknown = l4 == RTE_PTYPE_L4_ICMP ||
		     (ol & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_UNKNOWN;
	if (unlikely((v4 && (ol & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_UNKNOWN) ||
		     ((fl & F_L4_SW) && l4 != RTE_PTYPE_L4_FRAG && l4_unknown)))
		return classify_sw(m, fl);
	uv = l4 != RTE_PTYPE_L4_FRAG && l4_unknown ? CLS_UNVERIFIED : 0;
	if ((pt & RTE_PTYPE_L2_MASK) == RTE_PTYPE_L2_ETHER_VLAN)
		tags = 1;
	else if ((pt & RTE_PTYPE_L2_MASK) == RTE_PTYPE_L2_ETHER_QINQ)
		tags = 2;
	switch (l4) {
	case RTE_PTYPE_L4_TCP:
		k = v4 ? K_IPV4_TCP : K_IPV6_TCP;
		break;
	case RTE_PTYPE_L4_UDP:
		k = v4 ? K_IPV4_UDP : K_IPV6_UDP;
		break;
	case RTE_PTYPE_L4_ICMP:
		k = v4 ? K_IPV4_ICMP : K_IPV6_ICMPV6;
		break;
	default:
		k = v4 ? K_IPV4 : K_IPV6;
		break;
	}
	return k | tags << CLS_TAG_SHIFT | uv;
}

/*
 * 一批封包的區域直方圖:在堆疊上累加,每批只寫一次 stream 的計數。常見的封包每個只做一次遞增
 * (類別與「未驗證」合成一個索引);VLAN 標籤與跨 segment 很少見,放在分支裡。
 */
struct burst_hist {
	uint16_t kinds[K_MAX][2]; /* [類別][L4 checksum 未驗證] */
	uint16_t tags[MAX_VLAN_TAGS + 1];
	uint16_t multiseg;
};

static __rte_always_inline void hist_add(struct burst_hist *h, uint32_t c)
{
	h->kinds[CLS_KIND(c)][!!(c & CLS_UNVERIFIED)]++;
	if (unlikely(c & (CLS_MULTISEG | CLS_TAG_MASK))) {
		h->tags[CLS_TAGS(c)]++;
		h->multiseg += !!(c & CLS_MULTISEG);
	}
}

static inline void hist_flush(struct stream *s, const struct burst_hist *h)
{
	for (int k = 0; k < K_MAX; k++) {
		s->c.kinds[k] += h->kinds[k][0] + h->kinds[k][1];
		s->c.l4_unverified += h->kinds[k][1];
	}
	s->c.tags[1] += h->tags[1];
	s->c.tags[2] += h->tags[2];
	s->c.multiseg += h->multiseg;
}

/* 分類並計數一整批;軟體解析時提前 PREFETCH_OFFSET 個封包把標頭拉進快取 */
static inline void count_burst(struct stream *s, struct rte_mbuf **pkts, uint16_t nb)
{
	const unsigned int fl = s->flags;
	struct burst_hist h = { 0 };
	uint16_t i;

	if (fl & F_PTYPE_HW) {
		for (i = 0; i < nb; i++)
			hist_add(&h, classify_hw(pkts[i], fl));
	} else {
		for (i = 0; i < PREFETCH_OFFSET && i < nb; i++)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
		for (i = 0; i < nb; i++) {
			if (i + PREFETCH_OFFSET < nb)
				rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_OFFSET], void *));
			hist_add(&h, classify_sw(pkts[i], fl));
		}
	}
	hist_flush(s, &h);
}

/* ==== 6. 轉送引擎 ================================================================= */

/* 冷路徑:TX 連接埠送不了 mbuf 鏈(F_TX_FLAT):把跨 segment 的封包移出陣列、釋放並計入 dropped */
static __rte_noinline uint16_t drop_chains(struct stream *s, struct rte_mbuf **pkts, uint16_t nb)
{
	uint16_t n = 0;

	for (uint16_t i = 0; i < nb; i++) {
		if (unlikely(pkts[i]->nb_segs > 1)) {
			rte_pktmbuf_free(pkts[i]);
			s->c.tx_dropped++;
		} else {
			pkts[n++] = pkts[i];
		}
	}
	return n;
}

/* 送出一批;TX 環滿送不出的立即釋放並計入 dropped(不在資料路徑上等待或重試) */
static inline void send_burst(struct stream *s, struct rte_mbuf **pkts, uint16_t n)
{
	uint16_t sent;

	if (unlikely(s->flags & F_TX_FLAT))
		n = drop_chains(s, pkts, n);
	if (unlikely(n == 0))
		return;
	sent = rte_eth_tx_burst(s->tx_port, s->tx_queue, pkts, n);
	s->c.tx += sent;
	if (unlikely(sent < n)) {
		s->c.tx_dropped += n - sent;
		rte_pktmbuf_free_bulk(pkts + sent, n - sent);
	}
}

/* 冷路徑:把太短(連乙太網路標頭都沒有)的封包移出陣列並釋放,回傳剩下的數量 */
static __rte_noinline uint16_t drop_runts(struct stream *s, struct rte_mbuf **pkts, uint16_t nb)
{
	uint16_t n = 0;

	for (uint16_t i = 0; i < nb; i++) {
		if (rte_pktmbuf_data_len(pkts[i]) < RTE_ETHER_HDR_LEN) {
			rte_pktmbuf_free(pkts[i]);
			s->c.rx_dropped++;
		} else {
			pkts[n++] = pkts[i];
		}
	}
	return n;
}

static inline bool has_runt(struct rte_mbuf **pkts, uint16_t nb)
{
	for (uint16_t i = 0; i < nb; i++)
		if (unlikely(rte_pktmbuf_data_len(pkts[i]) < RTE_ETHER_HDR_LEN))
			return true;
	return false;
}

/*
 * 交換一個訊框的來源/目的 MAC。x86 上像 testpmd 的 macswap_sse.h:一次載入 16 位元組,
 * 以一個 shuffle 交換前 12 個位元組後寫回(讀寫超過 14 位元組仍在 mbuf 的緩衝區內)。
 */
static __rte_always_inline void swap_mac(uint8_t *d)
{
#if defined(RTE_ARCH_X86)
	const __m128i shuf = _mm_set_epi8(15, 14, 13, 12, 5, 4, 3, 2, 1, 0, 11, 10, 9, 8, 7, 6);

	_mm_storeu_si128((__m128i *)d, _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)d), shuf));
#else
	uint8_t t[RTE_ETHER_ADDR_LEN];

	memcpy(t, d, RTE_ETHER_ADDR_LEN);
	memmove(d, d + RTE_ETHER_ADDR_LEN, RTE_ETHER_ADDR_LEN);
	memcpy(d + RTE_ETHER_ADDR_LEN, t, RTE_ETHER_ADDR_LEN);
#endif
}

/* 冷路徑:從第 i 個開始有太短的封包:移除並釋放它們,其餘照樣交換 MAC */
static __rte_noinline uint16_t swap_macs_slow(struct stream *s, struct rte_mbuf **pkts,
					      uint16_t nb, uint16_t i)
{
	uint16_t n = i;

	for (; i < nb; i++) {
		if (rte_pktmbuf_data_len(pkts[i]) < RTE_ETHER_HDR_LEN) {
			rte_pktmbuf_free(pkts[i]);
			s->c.rx_dropped++;
			continue;
		}
		swap_mac(rte_pktmbuf_mtod(pkts[i], uint8_t *));
		pkts[n++] = pkts[i];
	}
	return n;
}

/* 就地交換一批封包的來源/目的 MAC;太短(不到 14 位元組)的移除,回傳剩下的數量 */
static __rte_always_inline uint16_t swap_macs(struct stream *s, struct rte_mbuf **pkts,
					      uint16_t nb)
{
	for (uint16_t i = 0; i < nb; i++) {
		if (unlikely(rte_pktmbuf_data_len(pkts[i]) < RTE_ETHER_HDR_LEN))
			return swap_macs_slow(s, pkts, nb, i);
		swap_mac(rte_pktmbuf_mtod(pkts[i], uint8_t *));
	}
	return nb;
}

/* io:不碰封包內容,整批原樣送到成對的連接埠 */
static void eng_io(struct stream *s, struct rte_mbuf **pkts, uint16_t nb)
{
	send_burst(s, pkts, nb);
}

/* fwd + 解析:計數,太短的丟棄,其餘送到成對的連接埠 */
static void eng_fwd(struct stream *s, struct rte_mbuf **pkts, uint16_t nb)
{
	count_burst(s, pkts, nb);
	if (unlikely(has_runt(pkts, nb)))
		nb = drop_runts(s, pkts, nb);
	send_burst(s, pkts, nb);
}

static void eng_macswap(struct stream *s, struct rte_mbuf **pkts, uint16_t nb)
{
	send_burst(s, pkts, swap_macs(s, pkts, nb));
}

static void eng_macswap_parse(struct stream *s, struct rte_mbuf **pkts, uint16_t nb)
{
	count_burst(s, pkts, nb);
	send_burst(s, pkts, swap_macs(s, pkts, nb));
}

static void eng_rxonly(struct stream *s, struct rte_mbuf **pkts, uint16_t nb)
{
	(void)s;
	rte_pktmbuf_free_bulk(pkts, nb);
}

static void eng_rxonly_parse(struct stream *s, struct rte_mbuf **pkts, uint16_t nb)
{
	count_burst(s, pkts, nb);
	rte_pktmbuf_free_bulk(pkts, nb);
}

/*
 * 回覆會送到這個來源嗎:0.0.0.0、127/8、多播(224/4)與 255.255.255.255 當來源的封包,
 * 核心視為 martian 丟棄;回覆它們等於替偽造來源的人把封包送給整個網段。
 * ARP 的 sender IP 可以是 0(重複位址偵測的探測,核心也回覆),所以 zero_ok。
 */
static bool ipv4_src_ok(rte_be32_t a, bool zero_ok)
{
	uint32_t h = rte_be_to_cpu_32(a);

	if (h == 0)
		return zero_ok;
	return (h >> 24) != 127 && (h >> 28) != 0xe && h != UINT32_MAX;
}

/*
 * 冷路徑:給我們的 ARP request / ICMP echo request 就地改寫成回覆,回傳 1;不是給我們的回傳 0;
 * 給我們的、但主機政策(host_policy())說不回答的回傳 -1。
 * 要改寫的標頭必須都在第一個 segment;ICMP checksum 以 rte_raw_cksum_mbuf 重算(可跨 segment)。
 * 不回覆(和核心一樣):來源 MAC 是多播/廣播、來源 IP 見 ipv4_src_ok();ICMP 的目的 MAC 不是
 * 我們(混雜模式或不過濾的 PMD 才收得到);帶 IP 選項的 echo request(record route、timestamp
 * 要填入我們的位址,source route 要拒絕,原樣送回是錯的)。
 */
static __rte_noinline int make_reply(const struct stream *s, struct rte_mbuf *m, uint32_t c)
{
	uint32_t l3 = RTE_ETHER_HDR_LEN + 4 * CLS_TAGS(c), dlen = rte_pktmbuf_data_len(m);
	uint8_t *p = rte_pktmbuf_mtod(m, uint8_t *);
	struct rte_ether_hdr *eth = (void *)p;

	const uint32_t pol = __atomic_load_n(&s->policy, __ATOMIC_RELAXED);

	if (!s->ip)
		return 0;
	if (CLS_KIND(c) == K_ARP) {
		struct rte_arp_hdr *a = (void *)(p + l3);

		if (dlen < l3 + sizeof(*a) ||
		    a->arp_hardware != rte_cpu_to_be_16(RTE_ARP_HRD_ETHER) ||
		    a->arp_protocol != rte_cpu_to_be_16(RTE_ETHER_TYPE_IPV4) ||
		    a->arp_opcode != rte_cpu_to_be_16(RTE_ARP_OP_REQUEST) ||
		    a->arp_data.arp_tip != s->ip ||
		    !rte_is_unicast_ether_addr(&a->arp_data.arp_sha) ||
		    !rte_is_unicast_ether_addr(&eth->src_addr) ||
		    !ipv4_src_ok(a->arp_data.arp_sip, true))
			return 0;
		if (pol & POL_NO_ARP)
			return -1;
		eth->dst_addr = a->arp_data.arp_sha;
		eth->src_addr = s->mac;
		a->arp_opcode = rte_cpu_to_be_16(RTE_ARP_OP_REPLY);
		a->arp_data.arp_tha = a->arp_data.arp_sha;
		a->arp_data.arp_tip = a->arp_data.arp_sip;
		a->arp_data.arp_sha = s->mac;
		a->arp_data.arp_sip = s->ip;
		return 1;
	}
	if (CLS_KIND(c) == K_IPV4_ICMP && !(c & CLS_FIRST_FRAG)) {
		struct rte_ipv4_hdr *ih = (void *)(p + l3);
		uint32_t ihl = (ih->version_ihl & 0xf) * 4u, l4_len;
		struct rte_icmp_hdr *icmp = (void *)(p + l3 + ihl);
		rte_be32_t tmp;
		uint16_t sum;

		if (ihl != sizeof(*ih) || dlen < l3 + ihl + sizeof(*icmp) || ih->dst_addr != s->ip ||
		    icmp->icmp_type != RTE_IP_ICMP_ECHO_REQUEST || icmp->icmp_code != 0 ||
		    !rte_is_same_ether_addr(&eth->dst_addr, &s->mac) ||
		    !rte_is_unicast_ether_addr(&eth->src_addr) || !ipv4_src_ok(ih->src_addr, false))
			return 0;
		if (pol & POL_NO_ECHO)
			return -1;
		l4_len = rte_be_to_cpu_16(ih->total_length) - ihl;
		eth->dst_addr = eth->src_addr;
		eth->src_addr = s->mac;
		/* 交換位址不改變 IPv4 標頭的 checksum(加總的是同樣的 16 位元字) */
		tmp = ih->src_addr;
		ih->src_addr = ih->dst_addr;
		ih->dst_addr = tmp;
		icmp->icmp_type = RTE_IP_ICMP_ECHO_REPLY;
		icmp->icmp_cksum = 0;
		if (rte_raw_cksum_mbuf(m, l3 + ihl, l4_len, &sum))
			return 0;
		icmp->icmp_cksum = (uint16_t)~sum;
		return 1;
	}
	return 0;
}

/* respond:一律軟體解析;只有 ARP 與 ICMP 走冷路徑看看是不是給我們的,其他釋放(不算 dropped) */
static void eng_respond(struct stream *s, struct rte_mbuf **pkts, uint16_t nb)
{
	const unsigned int fl = (s->flags & ~F_PTYPE_HW) | F_L4_SW;
	struct rte_mbuf *out[MAX_BURST];
	struct burst_hist h = { 0 };
	uint16_t n_out = 0, i;

	for (i = 0; i < PREFETCH_OFFSET && i < nb; i++)
		rte_prefetch0(rte_pktmbuf_mtod(pkts[i], void *));
	for (i = 0; i < nb; i++) {
		struct rte_mbuf *m = pkts[i];
		uint32_t c;
		int r = 0;

		if (i + PREFETCH_OFFSET < nb)
			rte_prefetch0(rte_pktmbuf_mtod(pkts[i + PREFETCH_OFFSET], void *));
		c = classify_sw(m, fl);
		hist_add(&h, c);
		if (unlikely(CLS_KIND(c) == K_ARP || CLS_KIND(c) == K_IPV4_ICMP))
			r = make_reply(s, m, c);
		if (r > 0) {
			out[n_out++] = m;
		} else {
			s->c.policy_ignored += r < 0;
			rte_pktmbuf_free(m);
		}
	}
	hist_flush(s, &h);
	send_burst(s, out, n_out);
}

static const struct engine engines[] = {
	{ MODE_FWD, false, "io", eng_io },
	{ MODE_FWD, true, "fwd+parse", eng_fwd },
	{ MODE_MACSWAP, false, "macswap", eng_macswap },
	{ MODE_MACSWAP, true, "macswap+parse", eng_macswap_parse },
	{ MODE_RXONLY, false, "rxonly", eng_rxonly },
	{ MODE_RXONLY, true, "rxonly+parse", eng_rxonly_parse },
	{ MODE_RESPOND, true, "respond", eng_respond },
};

static const struct engine *pick_engine(const struct config *cfg)
{
	for (size_t i = 0; i < RTE_DIM(engines); i++)
		if (engines[i].mode == cfg->mode && engines[i].parse == cfg->parse)
			return &engines[i];
	return NULL;
}

/* ==== 7. 主迴圈 =================================================================== */

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t total_rx(const struct ctx *c)
{
	uint64_t t = 0;

	for (unsigned int i = 0; i < c->nb_streams; i++)
		t += c->all[i]->c.rx;
	return t;
}

/* 主 lcore 大約每毫秒做一次:時限、--packets 上限、連結事件、週期統計 */
struct timers {
	uint64_t tick, next_tick, next_stats, next_link, deadline;
};

static void housekeeping(struct ctx *c, struct timers *t, uint64_t now)
{
	uint64_t hz = rte_get_timer_hz();

	t->next_tick = now + t->tick;
	if (now >= t->deadline)
		force_quit = 1;
	if (c->cfg.max_packets && total_rx(c) >= c->cfg.max_packets)
		force_quit = 1;
	if (now >= t->next_link) {
		poll_link_events(c);
		refresh_policy(c);
		t->next_link = now + hz;
	}
	if (c->cfg.stats_interval && now >= t->next_stats) {
		print_stats(c, false);
		t->next_stats += c->cfg.stats_interval * hz;
	}
}

/* 每個 lcore 執行這個函式;主 lcore 另外負責計時與統計 */
static int lcore_main(void *arg)
{
	struct ctx *c = arg;
	const unsigned int lid = rte_lcore_id();
	struct lcore_conf *lc = &c->lconf[lid];
	const bool is_main = lid == rte_get_main_lcore();
	/* 熱路徑用到的設定先複製到區域變數:迴圈裡不必經由指標重新載入 */
	const burst_fn fwd = c->engine->fn;
	const uint16_t burst = (uint16_t)c->cfg.burst;
	struct stream *const st = lc->streams;
	const unsigned int n = lc->n_streams;
	struct rte_mbuf *pkts[MAX_BURST];
	uint64_t hz = rte_get_timer_hz(), cpu0;
	struct timers t = { .tick = hz / 1000, .deadline = UINT64_MAX };

	if (!n && !is_main) {
		/* 沒有佇列的 worker 不空轉:直接返回,它的 CPU 留給別人 */
		printf("lcore %u 沒有分配到任何 RX 佇列,閒置並結束\n", lid);
		fflush(stdout);
		return 0;
	}
	if (is_main) {
		t.next_tick = c->start_tsc + t.tick;
		t.next_stats = c->start_tsc + c->cfg.stats_interval * hz;
		t.next_link = c->start_tsc + hz;
		if (c->cfg.duration)
			t.deadline = c->start_tsc + c->cfg.duration * hz;
	}
	if (n) {
		printf("lcore %u 輪詢 %u 個佇列(TX 佇列 %u)\n", lid, n, lc->txq);
		fflush(stdout);
	}
	cpu0 = thread_cpu_ns();
	while (!force_quit) {
		for (unsigned int i = 0; i < n; i++) {
			struct stream *s = &st[i];
			/*
			 * 忙碌時間只算收到封包的那些輪詢(testpmd --record-core-cycles 的算法):忙碌輪詢的 lcore
			 * 永遠佔滿一顆 CPU,「每個封包的 CPU」要看它真正在處理封包的時間,空轉另外報告
			 */
			const uint64_t t0 = rte_rdtsc();
			uint16_t nb = rte_eth_rx_burst(s->rx_port, s->rx_queue, pkts, burst);

			if (nb == 0) {
				s->c.empty_polls++;
				continue;
			}
			s->c.rx += nb;
			s->c.burst_hist[31 - __builtin_clz(nb)]++;
			s->c.full_bursts += nb == burst;
			fwd(s, pkts, nb);
			s->c.busy_tsc += rte_rdtsc() - t0;
		}
		if (!is_main)
			continue;
		uint64_t now = rte_rdtsc();

		if (now >= t.next_tick)
			housekeeping(c, &t, now);
		if (!n)
			rte_delay_us_sleep(1000); /* 主 lcore 沒有佇列:只做統計,不空轉 */
	}
	lc->cpu_ns = thread_cpu_ns() - cpu0;
	return 0;
}

/* ==== 8. 統計 ===================================================================== */

/* 一個連接埠(或全部,port < 0)的計數加總 */
struct totals {
	uint64_t rx, tx, dropped, empty_polls, polls, full_bursts, multiseg, l4_unverified, busy_tsc;
	uint64_t policy_ignored;
	uint64_t proto[P_MAX];
	uint64_t burst_hist[BURST_BUCKETS];
};

static uint64_t polls_of(const struct stream_counters *sc)
{
	uint64_t p = sc->empty_polls;

	for (int k = 0; k < BURST_BUCKETS; k++)
		p += sc->burst_hist[k];
	return p;
}

static void add_kinds(uint64_t *proto, const uint64_t *k, const uint64_t *tags)
{
	proto[P_ARP] += k[K_ARP];
	proto[P_IPV4] += k[K_IPV4] + k[K_IPV4_TCP] + k[K_IPV4_UDP] + k[K_IPV4_ICMP];
	proto[P_IPV6] += k[K_IPV6] + k[K_IPV6_TCP] + k[K_IPV6_UDP] + k[K_IPV6_ICMPV6];
	proto[P_TCP] += k[K_IPV4_TCP] + k[K_IPV6_TCP];
	proto[P_UDP] += k[K_IPV4_UDP] + k[K_IPV6_UDP];
	proto[P_ICMP] += k[K_IPV4_ICMP];
	proto[P_ICMPV6] += k[K_IPV6_ICMPV6];
	proto[P_VLAN] += tags[1];
	proto[P_QINQ] += tags[2];
	proto[P_OTHER] += k[K_OTHER];
	proto[P_MALFORMED] += k[K_MALFORMED];
}

/*
 * 加總:RX 相關的計數屬於 stream 的 RX 連接埠,TX 與 TX 丟棄屬於它的 TX 連接埠
 * (fwd 模式下兩者不同)。port < 0 = 全部。
 */
static void sum_port(const struct ctx *c, int port, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (unsigned int i = 0; i < c->nb_streams; i++) {
		const struct stream *s = c->all[i];
		const struct stream_counters *sc = &s->c;

		if (port < 0 || s->rx_port == port) {
			t->rx += sc->rx;
			t->dropped += sc->rx_dropped;
			t->empty_polls += sc->empty_polls;
			t->polls += polls_of(sc);
			t->full_bursts += sc->full_bursts;
			t->busy_tsc += sc->busy_tsc;
			t->multiseg += sc->multiseg;
			t->l4_unverified += sc->l4_unverified;
			t->policy_ignored += sc->policy_ignored;
			for (int k = 0; k < BURST_BUCKETS; k++)
				t->burst_hist[k] += sc->burst_hist[k];
			add_kinds(t->proto, sc->kinds, sc->tags);
		}
		if (port < 0 || s->tx_port == port) {
			t->tx += sc->tx;
			t->dropped += sc->tx_dropped;
		}
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

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static double avg_burst(uint64_t rx, uint64_t polls, uint64_t empty)
{
	return polls > empty ? (double)rx / (double)(polls - empty) : 0.0;
}

/* 非零的 xstats(PMD 自己的擴充統計,例如每個佇列的位元組數、錯誤類型) */
static void print_xstats(uint16_t port)
{
	int n = rte_eth_xstats_get(port, NULL, 0), shown = 0;
	struct rte_eth_xstat *xs;
	struct rte_eth_xstat_name *names;

	if (n <= 0)
		return;
	xs = calloc(n, sizeof(*xs));
	names = calloc(n, sizeof(*names));
	if (xs && names && rte_eth_xstats_get(port, xs, n) == n &&
	    rte_eth_xstats_get_names(port, names, n) == n) {
		printf("    xstats(非零):");
		for (int i = 0; i < n; i++) {
			if (!xs[i].value)
				continue;
			printf("%s%s=%" PRIu64, shown++ ? " " : "", names[xs[i].id].name,
			       xs[i].value);
		}
		printf("%s\n", shown ? "" : "全部為 0");
	}
	free(xs);
	free(names);
}

/* 忙碌時間(收到封包的輪詢)佔 lcore 時間的比例;secs = 執行秒數,lcores = 輪詢這些佇列的 lcore 數 */
static double busy_pct(uint64_t busy_tsc, double secs, unsigned int lcores)
{
	double total = secs * (double)rte_get_timer_hz() * lcores;

	return total > 0 ? 100.0 * (double)busy_tsc / total : 0.0;
}

static double busy_ns_per_pkt(uint64_t busy_tsc, uint64_t rx)
{
	return rx ? (double)busy_tsc * 1e9 / (double)rte_get_timer_hz() / (double)rx : 0.0;
}

static void print_burst_hist(const struct totals *t, unsigned int burst)
{
	char a[32];

	printf("    burst 大小分布(非空的 rx_burst):");
	for (int k = 0; k < BURST_BUCKETS; k++) {
		unsigned int lo = 1u << k, hi = RTE_MIN((2u << k) - 1, burst);

		if (!t->burst_hist[k])
			continue;
		if (lo == hi)
			printf("%u:%s ", lo, thousands(a, sizeof(a), t->burst_hist[k]));
		else
			printf("%u-%u:%s ", lo, hi, thousands(a, sizeof(a), t->burst_hist[k]));
	}
	printf("\n    滿 burst(=%u)%.1f%%、空輪詢 %.1f%%、平均每次 rx_burst 帶回 %.1f 個封包:"
	       "rx/tx 呼叫與描述子環的固定成本由這批封包分攤\n",
	       burst, pct(t->full_bursts, t->polls - t->empty_polls),
	       pct(t->empty_polls, t->polls), avg_burst(t->rx, t->polls, t->empty_polls));
}

/* 輪詢這個連接埠(port < 0 = 全部)的 lcore 數 */
static unsigned int port_lcores(const struct ctx *c, int port)
{
	bool seen[RTE_MAX_LCORE] = { false };
	unsigned int n = 0;

	for (unsigned int i = 0; i < c->nb_streams; i++) {
		const struct stream *s = c->all[i];

		if ((port < 0 || s->rx_port == port) && !seen[s->lcore]) {
			seen[s->lcore] = true;
			n++;
		}
	}
	return n;
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
	printf(final ? "\n==== 總結(%.2f 秒,模式 %s,引擎 %s)====\n" : "[%.1f 秒] 模式 %s(%s)\n",
	       elapsed, mode_names[c->cfg.mode], c->engine->name);
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		uint16_t port = c->ports[i];
		struct totals t;
		struct rte_eth_stats es = { 0 };
		uint64_t drx = 0, dtx = 0;

		sum_port(c, port, &t);
		rte_eth_stats_get(port, &es);
		if (final)
			c->port[port].final = es;
		for (unsigned int j = 0; j < c->nb_streams; j++) {
			if (c->all[j]->rx_port == port)
				drx += final ? c->all[j]->c.rx : c->all[j]->c.rx - c->last[j].rx;
			if (c->all[j]->tx_port == port)
				dtx += final ? c->all[j]->c.tx : c->all[j]->c.tx - c->last[j].tx;
		}
		printf("  連接埠 %u:收 %s(%s pps)送 %s(%s pps)丟棄 %s;imissed %" PRIu64
		       " ierrors %" PRIu64 " oerrors %" PRIu64 " rx_nombuf %" PRIu64 "\n",
		       port, thousands(a, sizeof(a), t.rx), thousands(e, sizeof(e), (uint64_t)(drx / dt)),
		       thousands(b, sizeof(b), t.tx), thousands(f, sizeof(f), (uint64_t)(dtx / dt)),
		       thousands(d, sizeof(d), t.dropped), es.imissed, es.ierrors, es.oerrors,
		       es.rx_nombuf);
		/* 每個 RX 佇列:誰在輪詢、速率、空輪詢比例、平均 burst */
		for (unsigned int j = 0; j < c->nb_streams; j++) {
			const struct stream *s = c->all[j];
			const struct snapshot *l = &c->last[j];
			uint64_t rx = s->c.rx, polls = polls_of(&s->c), empty = s->c.empty_polls;

			if (s->rx_port != port)
				continue;
			if (!final) {
				rx -= l->rx;
				polls -= l->polls;
				empty -= l->empty;
			}
			printf("    佇列 %u(lcore %u):收 %s pps,空輪詢 %.1f%%,平均 burst %.1f\n",
			       s->rx_queue, s->lcore, thousands(a, sizeof(a), (uint64_t)(rx / dt)),
			       pct(empty, polls), avg_burst(rx, polls, empty));
		}
		if (c->cfg.parse) {
			printf("    協定:");
			for (int k = 0; k < P_MAX; k++)
				printf("%s %s、", proto_names[k], thousands(a, sizeof(a), t.proto[k]));
			printf("跨 segment %s;L4 checksum 未驗證 %s", thousands(a, sizeof(a), t.multiseg),
			       thousands(b, sizeof(b), t.l4_unverified));
			if (c->cfg.mode == MODE_RESPOND)
				printf(";主機政策說不回答的 request %s", thousands(a, sizeof(a), t.policy_ignored));
			printf("\n");
		}
		if (final) {
			print_burst_hist(&t, c->cfg.burst);
			printf("    lcore 忙碌時間(收到封包的輪詢)%.1f%%,每個封包 %.1f ns;其餘是空輪詢"
			       "(忙碌輪詢的 lcore 照樣佔滿 CPU)\n",
			       busy_pct(t.busy_tsc, elapsed, port_lcores(c, port)),
			       busy_ns_per_pkt(t.busy_tsc, t.rx));
		}
		if (final || c->cfg.xstats)
			print_xstats(port);
	}
	if (!final)
		for (unsigned int j = 0; j < c->nb_streams; j++) {
			c->last[j].rx = c->all[j]->c.rx;
			c->last[j].tx = c->all[j]->c.tx;
			c->last[j].polls = polls_of(&c->all[j]->c);
			c->last[j].empty = c->all[j]->c.empty_polls;
		}
	c->last_tsc = now;
	fflush(stdout);
}

/* 給腳本讀的一行:SUMMARY key=value …(在連接埠關閉之後印,才能報告 mbuf 是否全部歸還) */
static void print_summary_line(struct ctx *c)
{
	double secs = (double)(c->stop_tsc - c->start_tsc) / rte_get_timer_hz();
	uint64_t cpu_ns = 0, in_use = 0;
	struct totals all;

	sum_port(c, -1, &all);
	for (unsigned int l = 0; l < RTE_MAX_LCORE; l++)
		cpu_ns += c->lconf[l].cpu_ns;
	for (unsigned int s = 0; s < RTE_MAX_NUMA_NODES; s++)
		if (c->pool[s])
			in_use += rte_mempool_in_use_count(c->pool[s]);
	if (secs <= 0)
		secs = 1e-9;
	printf("SUMMARY mode=%s engine=%s ports=%u lcores=%u rxq=%u parse=%d l4cksum=%s seconds=%.3f"
	       " rx=%" PRIu64 " tx=%" PRIu64 " dropped=%" PRIu64 " rx_pps=%.0f tx_pps=%.0f"
	       " empty_poll_pct=%.1f avg_burst=%.1f cpu_ns_per_pkt=%.1f busy_pct=%.1f busy_ns_per_pkt=%.1f"
	       " mbuf_in_use=%" PRIu64,
	       mode_names[c->cfg.mode], c->engine->name, c->nb_ports, c->nb_fwd_lcores, c->cfg.rxq,
	       c->cfg.parse, l4ck_names[c->cfg.l4_cksum], secs, all.rx, all.tx, all.dropped,
	       all.rx / secs, all.tx / secs, pct(all.empty_polls, all.polls),
	       avg_burst(all.rx, all.polls, all.empty_polls),
	       all.rx ? (double)cpu_ns / (double)all.rx : 0.0,
	       busy_pct(all.busy_tsc, secs, port_lcores(c, -1)), busy_ns_per_pkt(all.busy_tsc, all.rx),
	       in_use);
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		uint16_t port = c->ports[i];
		const struct rte_eth_stats *es = &c->port[port].final;
		struct totals t;

		sum_port(c, port, &t);
		printf(" p%u_ptype=%s p%u_rx=%" PRIu64 " p%u_tx=%" PRIu64 " p%u_dropped=%" PRIu64
		       " p%u_rx_pps=%.0f p%u_imissed=%" PRIu64 " p%u_ierrors=%" PRIu64
		       " p%u_oerrors=%" PRIu64 " p%u_rx_nombuf=%" PRIu64,
		       port, c->port[port].flags & F_PTYPE_HW ? "hw" : "sw", port, t.rx, port, t.tx,
		       port, t.dropped, port, t.rx / secs, port, es->imissed, port, es->ierrors, port,
		       es->oerrors, port, es->rx_nombuf);
		for (int k = 0; k < P_MAX; k++)
			printf(" p%u_%s=%" PRIu64, port, proto_names[k], t.proto[k]);
		printf(" p%u_multiseg=%" PRIu64 " p%u_l4_unverified=%" PRIu64 " p%u_policy_ignored=%" PRIu64,
		       port, t.multiseg, port, t.l4_unverified, port, t.policy_ignored);
		for (unsigned int j = 0; j < c->nb_streams; j++) {
			const struct stream *s = c->all[j];

			if (s->rx_port == port)
				printf(" p%u_q%u_rx=%" PRIu64 " p%u_q%u_lcore=%u", port, s->rx_queue,
				       s->c.rx, port, s->rx_queue, s->lcore);
		}
	}
	printf("\n");
	fflush(stdout);
}

/* 是否仍存在綁定的 Linux 介面(net_af_packet、net_tap):介面被刪除時 PMD 自己不會說 */
static bool iface_present(unsigned int if_index)
{
	char name[IF_NAMESIZE];

	return if_indextoname(if_index, name) != NULL;
}

/*
 * 連結事件:LSC callback 記下的事件,加上每秒一次的查詢(不支援 LSC 中斷的 PMD),
 * 以及綁定的 Linux 介面是否還在。狀態改變時印一行;程式繼續輪詢,不會卡住也不會結束。
 * net_af_packet 不回報連結狀態(永遠是 up):綁在 Linux 介面、又沒有 LSC 中斷的連接埠,
 * 連結狀態取自介面旗標(IFF_UP 且 IFF_RUNNING;veth 的對端 down 時沒有 carrier,RUNNING 會清掉)。
 */
static void poll_link_events(struct ctx *c)
{
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		uint16_t port = c->ports[i];
		struct port_info *pi = &c->port[port];
		struct rte_eth_link link = { 0 };
		char text[64];
		uint32_t ev = __atomic_exchange_n(&pi->lsc_events, 0, __ATOMIC_RELAXED);

		if (pi->if_index && !pi->iface_gone && !iface_present(pi->if_index)) {
			pi->iface_gone = true;
			printf("連接埠 %u:綁定的 Linux 介面(ifindex %u)已消失,PMD 收不到也送不出封包;"
			       "繼續執行,Ctrl-C 結束\n", port, pi->if_index);
			fflush(stdout);
		}
		if (rte_eth_link_get_nowait(port, &link))
			continue;
		if (pi->if_index && !pi->lsc_intr && !pi->iface_gone) {
			int f = iface_flags(pi->if_index);

			if (f >= 0)
				link.link_status = (f & IFF_UP) && (f & IFF_RUNNING);
		}
		if (pi->link_up == link.link_status && !ev)
			continue;
		if (link.link_status)
			snprintf(text, sizeof(text), "up,%u Mbps,%s", link.link_speed,
				 link.link_duplex ? "全雙工" : "半雙工");
		else
			snprintf(text, sizeof(text), "down");
		if (pi->link_up < 0)
			printf("連接埠 %u 連結狀態:%s%s\n", port, text,
			       link.link_status ? "" : "(仍在等待,例如 memif 的對端尚未連上)");
		else if (link.link_status)
			printf("連接埠 %u 連結恢復:%s\n", port, text);
		else
			printf("連接埠 %u 連結中斷:%s(對端消失或線路斷了;繼續輪詢,等它回來)\n",
			       port, text);
		pi->link_up = link.link_status;
		fflush(stdout);
	}
}

/* telemetry 指令的內容。參數:空白 = 全部連接埠加總;連接埠編號 = 該連接埠與它的每個佇列 */
static int telemetry_fill(const struct ctx *c, const char *params, struct rte_tel_data *d)
{
	struct totals t;
	int port = -1;

	if (params && *params) {
		char *end;
		long v = strtol(params, &end, 10);

		if (*end || v < 0 || v >= RTE_MAX_ETHPORTS || !c->port[v].enabled)
			return -EINVAL;
		port = (int)v;
	}
	sum_port(c, port, &t);
	rte_tel_data_start_dict(d);
	rte_tel_data_add_dict_string(d, "mode", mode_names[c->cfg.mode]);
	rte_tel_data_add_dict_string(d, "engine", c->engine->name);
	rte_tel_data_add_dict_int(d, "port", port);
	rte_tel_data_add_dict_u64(d, "rx", t.rx);
	rte_tel_data_add_dict_u64(d, "tx", t.tx);
	rte_tel_data_add_dict_u64(d, "dropped", t.dropped);
	rte_tel_data_add_dict_u64(d, "empty_polls", t.empty_polls);
	rte_tel_data_add_dict_u64(d, "polls", t.polls);
	for (int k = 0; k < P_MAX; k++)
		rte_tel_data_add_dict_u64(d, proto_names[k], t.proto[k]);
	rte_tel_data_add_dict_u64(d, "l4_unverified", t.l4_unverified);
	if (port >= 0) {
		struct rte_tel_data *q = rte_tel_data_alloc();

		if (q) {
			rte_tel_data_start_array(q, RTE_TEL_U64_VAL);
			for (unsigned int j = 0; j < c->nb_streams; j++)
				if (c->all[j]->rx_port == port)
					rte_tel_data_add_array_u64(q, c->all[j]->c.rx);
			rte_tel_data_add_dict_container(d, "queue_rx", q, 0);
		}
	}
	return 0;
}

/*
 * telemetry 指令:dpdk-telemetry.py 經由 /var/run/dpdk/<prefix>/dpdk_telemetry.v2 呼叫,
 * 在 EAL 的 telemetry 執行緒裡執行。先登記 busy 再讀入口:telemetry_close() 把入口設為 NULL
 * 之後,要嘛看得到這個 busy 而等我們做完,要嘛我們讀到 NULL(兩邊都是 SEQ_CST)。
 */
static int telemetry_stats(const char *cmd, const char *params, struct rte_tel_data *d)
{
	const struct ctx *c;
	int ret;

	(void)cmd;
	__atomic_fetch_add(&tel.busy, 1, __ATOMIC_SEQ_CST);
	c = __atomic_load_n(&tel.c, __ATOMIC_SEQ_CST);
	ret = c ? telemetry_fill(c, params, d) : -EAGAIN; /* NULL = 正在啟動或結束 */
	__atomic_fetch_sub(&tel.busy, 1, __ATOMIC_RELEASE);
	return ret;
}

/* 註冊 telemetry 指令 */
static void telemetry_setup(struct ctx *c)
{
	__atomic_store_n(&tel.c, c, __ATOMIC_SEQ_CST);
	if (rte_telemetry_register_cmd(TEL_CMD, telemetry_stats,
				       "dpdk_packet_processing 的計數;參數:連接埠編號(可省略)"))
		printf("注意:無法註冊 telemetry 指令 %s(已有同名指令?)\n", TEL_CMD);
	else
		c->telemetry = true;
}

/* 關掉 telemetry 的入口,等正在執行的 callback 做完;之後才能停止連接埠、釋放計數 */
static void telemetry_close(void)
{
	__atomic_store_n(&tel.c, NULL, __ATOMIC_SEQ_CST);
	while (__atomic_load_n(&tel.busy, __ATOMIC_SEQ_CST))
		rte_pause();
}

/* ==== 9. 清理 ===================================================================== */

static void stop_ports(struct ctx *c)
{
	for (unsigned int i = 0; i < c->nb_ports; i++) {
		uint16_t port = c->ports[i];
		int ret;

		if (c->port[port].lsc_intr)
			rte_eth_dev_callback_unregister(port, RTE_ETH_EVENT_INTR_LSC, on_link_event, c);
		if (c->port[port].promisc_set)
			rte_eth_promiscuous_disable(port);
		if (c->port[port].promisc_member)
			close(c->port[port].promisc_fd); /* 核心把 promiscuity 計數減一 */
		ret = rte_eth_dev_stop(port);
		if (ret)
			fprintf(stderr, "注意:連接埠 %u 停止失敗:%s\n", port, strerror(-ret));
		rte_eth_dev_close(port);
	}
	printf("已停止並關閉 %u 個連接埠\n", c->nb_ports);
}

static void free_streams(struct ctx *c)
{
	for (unsigned int l = 0; l < RTE_MAX_LCORE; l++) {
		rte_free(c->lconf[l].streams);
		c->lconf[l].streams = NULL;
	}
	c->nb_streams = 0;
}

/* 刪除一個目錄裡的檔案與目錄本身(執行期目錄沒有子目錄) */
static void remove_runtime_dir(const char *dir)
{
	DIR *d;
	struct dirent *e;
	char path[PATH_MAX];

	if (dir[0] != '/')
		return;
	d = opendir(dir);
	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/* 以 <prefix>map_ 開頭的檔案:EAL 為這個 prefix 建立的 hugepage 檔案 */
static void remove_prefix_files(const char *dir, const char *prefix)
{
	char stem[sizeof(((struct ctx *)0)->prefix) + 8], path[PATH_MAX];
	size_t n;
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	n = (size_t)snprintf(stem, sizeof(stem), "%smap_", prefix);
	while ((e = readdir(d)))
		if (!strncmp(e->d_name, stem, n)) {
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			unlink(path);
		}
	closedir(d);
}

/*
 * 刪除這個 prefix 留在 hugetlbfs 的檔案(使用者選了 --huge-unlink=existing/never 時才會有)。
 * 呼叫者已確認 prefix 屬於我們。
 */
static void remove_hugepage_files(const struct ctx *c)
{
	char line[1024];
	FILE *f = fopen("/proc/mounts", "r");

	if (c->huge_dir[0])
		remove_prefix_files(c->huge_dir, c->prefix);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char dev[256], dir[PATH_MAX], type[64];

		if (sscanf(line, "%255s %4095s %63s", dev, dir, type) == 3 &&
		    !strcmp(type, "hugetlbfs"))
			remove_prefix_files(dir, c->prefix);
	}
	fclose(f);
}

/* 結束 EAL;我們是主要行程時,執行期目錄與 hugepage 檔案都是我們的,一併刪除 */
static void eal_finish(struct ctx *c)
{
	rte_eal_cleanup();
	if (c->primary) {
		remove_hugepage_files(c);
		remove_runtime_dir(c->runtime_dir);
	}
}

/* ==== 10. 選項、說明與啟動前檢查 ====================================================== */

/* 選項表:getopt_long 的項目與 --help 文字放在一起 */
struct option_doc {
	struct option opt;
	const char *arg;
	const char *help;
};

enum { OPT_MODE = 256, OPT_BURST, OPT_RXQ, OPT_RXD, OPT_TXD, OPT_STATS, OPT_IP, OPT_DURATION,
       OPT_PACKETS, OPT_NO_PARSE, OPT_PTYPE, OPT_L4CK, OPT_XSTATS };

static const struct option_doc options[] = {
	{ { "portmask", required_argument, NULL, 'p' }, "PORTMASK",
	  "使用的連接埠(十六進位位元遮罩,預設全部)" },
	{ { "mode", required_argument, NULL, OPT_MODE }, "MODE",
	  "fwd(0<->1、2<->3 成對轉送)| macswap(交換 MAC 從同一埠送回,預設)|\n"
	  "rxonly(計數後丟棄)| respond(回應 ARP 與 ICMP echo)" },
	{ { "burst", required_argument, NULL, OPT_BURST }, "N",
	  "每次 rx/tx burst 的封包數(1-512,預設 32)" },
	{ { "rxq", required_argument, NULL, OPT_RXQ }, "N",
	  "每個連接埠的 RX 佇列數(1-16,預設 1);>1 時以 RSS 分流,一個佇列一個 lcore" },
	{ { "rxd", required_argument, NULL, OPT_RXD }, "N",
	  "每個 RX 佇列的描述子數(64-16384;預設 PMD 建議的大小,沒有建議時 1024;\n"
	  "PMD 可能再調整,啟動時印出實際值)" },
	{ { "txd", required_argument, NULL, OPT_TXD }, "N",
	  "每個 TX 佇列的描述子數(64-16384;預設同 --rxd)" },
	{ { "stats-interval", required_argument, NULL, OPT_STATS }, "SEC",
	  "每隔幾秒印一次統計(0 = 不印,預設 1)" },
	{ { "xstats", no_argument, NULL, OPT_XSTATS }, NULL,
	  "每次統計也印非零的 rte_eth_xstats(結束時一律會印)" },
	{ { "ip", required_argument, NULL, OPT_IP }, "PORT=ADDR",
	  "respond 模式下連接埠 PORT 的 IPv4 位址(可重複)" },
	{ { "duration", required_argument, NULL, OPT_DURATION }, "SEC",
	  "執行幾秒後自動結束(0 = 直到 Ctrl-C,預設 0)" },
	{ { "packets", required_argument, NULL, OPT_PACKETS }, "N",
	  "總共收到 N 個封包後結束(0 = 不限)" },
	{ { "no-parse", no_argument, NULL, OPT_NO_PARSE }, NULL,
	  "不分類也不計協定(fwd 變成 io 引擎;respond 模式一定會解析)" },
	{ { "ptype", required_argument, NULL, OPT_PTYPE }, "auto|sw",
	  "封包分類:auto = PMD 回報 packet_type 就用它(預設),sw = 一律軟體逐層解析" },
	{ { "l4-cksum", required_argument, NULL, OPT_L4CK }, "hw|sw|off",
	  "TCP/UDP/ICMP checksum:hw = 相信網卡的判定,沒判定的計入「未驗證」(預設);\n"
	  "sw = 網卡沒判定的以軟體驗證(真實訊框上約 3 倍成本);off = 不驗證" },
	{ { "help", no_argument, NULL, 'h' }, NULL, "顯示這份說明" },
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* 常用 EAL 參數(放在 -- 之前):左欄、說明;說明裡的 \n 接續到下一行的同一欄 */
static const char *const eal_help[][2] = {
	{ "-l 0-1", "使用的 lcore(CPU);第一個是主 lcore,負責印統計" },
	{ "--no-pci --vdev=net_null0", "沒有網卡時使用虛擬裝置(可重複 --vdev)" },
	{ "--vdev=net_af_xdp0,iface=IF", "經 AF_XDP 綁在 Linux 介面上(veth、雲端網卡);\n"
					   "做不到時自動改用 net_af_packet,並印出原因" },
	{ "--no-huge -m 1024", "不使用 hugepage(否則請先執行 sudo make setup-hugepages)" },
	{ "--file-prefix=NAME", "同時執行多個 DPDK 行程時各用不同名稱" },
	{ "--huge-unlink=existing", "保留 hugepage 檔案讓 dpdk-proc-info/dpdk-pdump 附加\n"
				    "(預設:本程式自動加 --huge-unlink,結束後不留任何檔案)" },
};

/* UTF-8 字串在終端機上的寬度:中日韓全形字 2 欄,其他 1 欄(--help 對齊用) */
static int display_width(const char *s)
{
	int w = 0;

	while (*s) {
		unsigned char ch = (unsigned char)*s;
		unsigned int cp, n = ch < 0x80 ? 1 : ch < 0xe0 ? 2 : ch < 0xf0 ? 3 : 4;

		cp = n == 1 ? ch : ch & (0x7f >> n);
		for (unsigned int i = 1; i < n && s[i]; i++)
			cp = cp << 6 | ((unsigned char)s[i] & 0x3f);
		w += (cp >= 0x1100 && (cp <= 0x115f || (cp >= 0x2e80 && cp <= 0xa4cf) ||
				       (cp >= 0xac00 && cp <= 0xd7a3) || (cp >= 0xf900 && cp <= 0xfaff) ||
				       (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
				       (cp >= 0xffe0 && cp <= 0xffe6))) ? 2 : 1;
		while (n-- && *s)
			s++;
	}
	return w;
}

/* 一列說明:左欄補空白到 col 欄(依顯示寬度,不是位元組數),說明的每一行都從 col 欄開始 */
static void help_row(const char *left, const char *text, int col)
{
	int pad = col - 2 - display_width(left);

	printf("  %s%*s", left, pad > 1 ? pad : 1, "");
	if (pad < 1)
		printf("\n%*s", col, "");
	for (const char *p = text; *p; p++) {
		putchar(*p);
		if (*p == '\n')
			printf("%*s", col, "");
	}
	putchar('\n');
}

static void usage(const char *prog)
{
	char left[N_OPTIONS][64];
	int col = 0;

	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct option_doc *d = &options[i];

		snprintf(left[i], sizeof(left[i]), "%s%c%s --%s%s%s", d->opt.val < 256 ? "-" : " ",
			 d->opt.val < 256 ? d->opt.val : ' ', d->opt.val < 256 ? "," : " ", d->opt.name,
			 d->arg ? " " : "", d->arg ? d->arg : "");
		col = RTE_MAX(col, display_width(left[i]) + 4);
	}
	for (size_t i = 0; i < RTE_DIM(eal_help); i++)
		col = RTE_MAX(col, display_width(eal_help[i][0]) + 4);
	printf("用法:sudo %s [EAL 參數] -- [程式選項]\n\n", prog);
	printf("DPDK 封包處理器:以輪詢模式驅動程式收送封包,分類並計數,\n"
	       "依模式轉送、送回或回應 ARP/ICMP。\n\n程式選項(放在 -- 之後):\n");
	for (size_t i = 0; i < N_OPTIONS; i++)
		help_row(left[i], options[i].help, col);
	printf("\n主機政策(respond,連接埠綁在 Linux 介面上時):代替核心回答,遵守\n"
	       "  net.ipv4.icmp_echo_ignore_all=1(不回 ping)與介面 NOARP / arp_ignore=8(不回 ARP),每秒重讀;\n"
	       "  回覆不經過 netfilter(nftables/iptables 的規則管不到本程式)。\n");
	printf("\n資源上限(對端再怎麼送都不會超過):\n"
	       "  mbuf pool 在啟動時固定:2 x(連接埠數 x(RX 佇列數 x rxd + lcore 數 x txd)\n"
	       "  + lcore 數 x(2 x burst + 256)),至少 8191 個,每個 2176 位元組;\n"
	       "  RX 環滿時多出的封包由網卡丟棄(imissed)。資料路徑不配置記憶體、不等待。\n"
	       "\n常用 EAL 參數(放在 -- 之前):\n");
	for (size_t i = 0; i < RTE_DIM(eal_help); i++)
		help_row(eal_help[i][0], eal_help[i][1], col);
	printf("\n執行中讀取計數:echo %s | sudo dpdk-telemetry.py -f NAME\n"
	       "\n例:\n"
	       "  sudo %s -l 0-1 --no-pci --no-huge -m 1024 --vdev=net_null0 --vdev=net_null1 \\\n"
	       "       -- --mode fwd --duration 5\n", TEL_CMD, prog);
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

static unsigned int uint_opt(const char *name, const char *arg, unsigned int lo, unsigned int hi)
{
	unsigned long long v;
	char fmt[128];

	if (!parse_uint(arg, lo, hi, &v, 10)) {
		snprintf(fmt, sizeof(fmt), "--%s 必須是 %u-%u:%%s", name, lo, hi);
		usage_error(fmt, arg);
	}
	return (unsigned int)v;
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
	cfg->l4_cksum = L4CK_HW;

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
			for (i = 0; i < MODE_MAX; i++)
				if (!strcmp(optarg, mode_names[i]))
					break;
			if (i == MODE_MAX)
				usage_error("不認得的模式「%s」,可用:fwd macswap rxonly respond", optarg);
			cfg->mode = (enum mode)i;
			break;
		case OPT_BURST:
			cfg->burst = uint_opt("burst", optarg, 1, MAX_BURST);
			break;
		case OPT_RXQ:
			cfg->rxq = uint_opt("rxq", optarg, 1, MAX_RXQ);
			break;
		case OPT_RXD:
			cfg->rxd = uint_opt("rxd", optarg, DESC_MIN, DESC_MAX);
			break;
		case OPT_TXD:
			cfg->txd = uint_opt("txd", optarg, DESC_MIN, DESC_MAX);
			break;
		case OPT_STATS:
			cfg->stats_interval = uint_opt("stats-interval", optarg, 0, 3600);
			break;
		case OPT_DURATION:
			cfg->duration = uint_opt("duration", optarg, 0, 86400 * 365);
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
		case OPT_XSTATS:
			cfg->xstats = true;
			break;
		case OPT_PTYPE:
			if (strcmp(optarg, "auto") && strcmp(optarg, "sw"))
				usage_error("--ptype 必須是 auto 或 sw:%s", optarg);
			cfg->sw_ptype = !strcmp(optarg, "sw");
			break;
		case OPT_L4CK:
			for (i = 0; i < RTE_DIM(l4ck_names); i++)
				if (!strcmp(optarg, l4ck_names[i]))
					break;
			if (i == RTE_DIM(l4ck_names))
				usage_error("--l4-cksum 必須是 hw、sw 或 off:%s", optarg);
			cfg->l4_cksum = (enum l4_cksum)i;
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

/*
 * EAL 以 getopt_long 解析長選項:接受沒有歧義的縮寫(--file=x 就是 --file-prefix=x)與重複
 * (最後一個生效)。這裡用同樣的規則:arg 的名稱部分至少 min 個字元(EAL 選項表裡沒有歧義的
 * 最短縮寫,例如 --file-prefix 是 "--fi")且是 name 的開頭。*val = 「=」後面的值或 NULL。
 */
static bool eal_opt_is(const char *arg, const char *name, size_t min, const char **val)
{
	size_t n = strcspn(arg, "=");

	if (n < min || n > strlen(name) || strncmp(arg, name, n))
		return false;
	*val = arg[n] == '=' ? arg + n + 1 : NULL;
	return true;
}

/* EAL 參數 NAME=VALUE 或 NAME VALUE 的值(最後一個);沒有則 NULL */
static const char *eal_arg_value(int argc, char **argv, const char *name, size_t min)
{
	const char *found = NULL, *v;

	for (int i = 1; i < argc; i++) {
		if (!eal_opt_is(argv[i], name, min, &v))
			continue;
		if (v)
			found = v;
		else if (i + 1 < argc)
			found = argv[++i];
	}
	return found;
}

static bool has_arg(int argc, char **argv, const char *name, size_t min)
{
	const char *v;

	for (int i = 1; i < argc; i++)
		if (eal_opt_is(argv[i], name, min, &v))
			return true;
	return false;
}

/* --file-prefix 是 /var/run/dpdk/ 底下的目錄名稱:不可為空、不可含 /、不可是 . 或 .. */
static bool prefix_ok(const char *prefix, size_t max)
{
	return *prefix && !strchr(prefix, '/') && strcmp(prefix, ".") && strcmp(prefix, "..") &&
	       strlen(prefix) < max;
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

/* 在 EAL 之前找出常見的環境問題並給出提示;回傳 0 = 可以繼續 */
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
	if (!has_arg(eal_argc, argv, "--no-huge", 7) &&
	    (free_hugepages() == 0 || !hugetlbfs_mounted())) {
		fprintf(stderr, "錯誤:沒有可用的 hugepage%s;請執行 sudo make setup-hugepages,"
				"或在 EAL 參數加上 --no-huge -m 1024\n",
			free_hugepages() ? "(hugetlbfs 未掛載)" : "");
		problems++;
	}
	if (problems && !has_arg(eal_argc, argv, "--vdev", 4) && !dpdk_bound_nic())
		fprintf(stderr, "提示:也找不到任何 DPDK 可用的連接埠:請以 dpdk-devbind.py --bind=vfio-pci "
				"綁定網卡,或加上 --no-pci --vdev=net_null0 --vdev=net_null1 使用虛擬裝置\n");
	return problems;
}

/*
 * 探測失敗的原因:EAL 只印「vdev_probe(): failed to initialize X device」,PMD 自己的說明在它前面
 * (例如 open_single_rx_pcap(): Couldn't open …)。往前找到上一個裝置的失敗訊息為止,略過 EAL 自己的行。
 */
static void probe_reason(const char *log, const char *marker, char *out, size_t n)
{
	const char *at = strstr(log, marker), *end, *start;
	size_t used = 0;
	int len;

	out[0] = '\0';
	if (!at)
		return;
	while (at > log && at[-1] != '\n')
		at--;
	for (end = at; end > log && used < n / 2;) {
		for (start = end - 1; start > log && start[-1] != '\n'; start--)
			;
		if (strstr(start, "failed to initialize") && strstr(start, "failed to initialize") < end)
			break;
		len = (int)(end - start) - 1;
		while (len > 0 && (start[len - 1] == '.' || start[len - 1] == ' '))
			len--;
		if (strncmp(start, "EAL:", 4) && strncmp(start, "TELEMETRY:", 10) && len > 0)
			used += (size_t)snprintf(out + used, n - used, "%s%.*s", used ? ";" : "", len,
						 start);
		end = start;
	}
}

/*
 * 每個 --vdev 都要成為一個連接埠:EAL 把探測失敗的 vdev 記一行 log 就繼續初始化,程式會在
 * 比使用者要求少的連接埠上執行(甚至 fwd 配錯對)。失敗的 vdev 一個印一行:名稱與原因,結束碼 1。
 */
static int check_vdevs(const struct ctx *c, int eal_argc, char **argv)
{
	int bad = 0;

	for (int i = 1; i < eal_argc; i++) {
		char name[RTE_DEV_NAME_MAX_LEN], marker[RTE_DEV_NAME_MAX_LEN + 40], why[400];
		const char *v;
		uint16_t port;

		if (!eal_opt_is(argv[i], "--vdev", 4, &v))
			continue;
		if (!v && i + 1 < eal_argc)
			v = argv[++i];
		if (!v)
			break;
		snprintf(name, sizeof(name), "%.*s", (int)strcspn(v, ","), v);
		snprintf(marker, sizeof(marker), "failed to initialize %s device", name);
		if (!strstr(c->eal_log, marker) &&
		    (strncmp(name, "net_", 4) || rte_eth_dev_get_port_by_name(name, &port) == 0))
			continue;
		probe_reason(c->eal_log, marker, why, sizeof(why));
		fprintf(stderr, "錯誤:--vdev=%s 探測失敗:%s;本程式不以少於要求的連接埠執行\n", v,
			why[0] ? why : "PMD 沒有說明原因(常見:不認得的參數名稱、不合法的值)");
		bad++;
	}
	return bad ? 1 : 0;
}

/*
 * net_pcap 的 infinite_rx=1 重播 rx_pcap 的內容;檔案裡沒有封包時收不到任何東西,而且 PMD
 * 會把幾乎整個 mbuf pool 留在自己手上(驅動程式的行為)。在 EAL 之前看一眼檔案,先警告。
 */
static void warn_empty_pcaps(int eal_argc, char **argv)
{
	for (int i = 1; i < eal_argc; i++) {
		struct rte_kvargs *kv;
		const char *v, *file, *inf;
		char hdr[24], rec[16];
		FILE *f;

		if (!eal_opt_is(argv[i], "--vdev", 4, &v))
			continue;
		if (!v && i + 1 < eal_argc)
			v = argv[++i];
		if (!v || strncmp(v, "net_pcap", 8) || !strchr(v, ','))
			continue;
		kv = rte_kvargs_parse(strchr(v, ',') + 1, NULL);
		file = kv ? rte_kvargs_get(kv, "rx_pcap") : NULL;
		inf = kv ? rte_kvargs_get(kv, "infinite_rx") : NULL;
		f = file && inf && atoi(inf) ? fopen(file, "rb") : NULL;
		if (f && fread(hdr, sizeof(hdr), 1, f) == 1 && fread(rec, sizeof(rec), 1, f) != 1)
			printf("警告:--vdev=%s:rx_pcap %s 裡沒有任何封包,infinite_rx=1 收不到封包,"
			       "而且 net_pcap 會佔住幾乎整個 mbuf pool\n", v, file);
		if (f)
			fclose(f);
		rte_kvargs_free(kv);
	}
}

/* ==== 11. main ==================================================================== */

/* 選出要用的連接埠並配對(fwd);回傳 0 或結束碼 */
static int select_ports(struct ctx *c)
{
	uint64_t known = 0;
	uint16_t port;

	if (rte_eth_dev_count_avail() == 0) {
		fprintf(stderr, "錯誤:找不到任何連接埠;請以 dpdk-devbind.py --bind=vfio-pci 綁定網卡,"
				"或使用虛擬裝置,例如 --no-pci --vdev=net_null0 --vdev=net_null1\n");
		return 1;
	}
	RTE_ETH_FOREACH_DEV(port) {
		known |= 1ULL << port;
		if (c->cfg.portmask && !(c->cfg.portmask & (1ULL << port)))
			continue;
		c->port[port].enabled = true;
		c->ports[c->nb_ports++] = port;
	}
	if (c->cfg.portmask & ~known) {
		fprintf(stderr, "錯誤:連接埠遮罩 0x%" PRIx64 " 包含不存在的連接埠(現有連接埠遮罩 0x%"
				PRIx64 ")\n", c->cfg.portmask, known);
		return EXIT_USAGE;
	}
	if (c->cfg.mode == MODE_FWD) {
		if (c->nb_ports % 2) {
			fprintf(stderr, "錯誤:fwd 模式需要偶數個連接埠(0<->1、2<->3),目前有 %u 個;"
					"請再加一個 --vdev 或改用 --mode macswap\n", c->nb_ports);
			return EXIT_USAGE;
		}
		for (unsigned int i = 0; i < c->nb_ports; i += 2) {
			c->port[c->ports[i]].peer = c->ports[i + 1];
			c->port[c->ports[i + 1]].peer = c->ports[i];
		}
	}
	for (unsigned int i = 0; i < RTE_MAX_ETHPORTS; i++)
		if (c->cfg.ip[i] && !c->port[i].enabled)
			printf("注意:--ip 指定的連接埠 %u 不存在或未啟用\n", i);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctx *c;
	int eal_argc = argc, rc;
	unsigned int started = 0;
	const char *prog = argv[0];

	/* --help 不論放在哪裡都顯示本程式的說明 */
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
	c->engine = pick_engine(&c->cfg);
	if (precheck(eal_argc, argv)) {
		free(c);
		return 1;
	}
	warn_empty_pcaps(eal_argc, argv);
	/*
	 * 訊號處理在 EAL 之前裝好:初始化途中的 Ctrl-C 也走正常清理。SIGHUP(終端機關閉、ssh 斷線)
	 * 與 SIGPIPE(輸出接到 head 之類、讀的一端先關掉)也一樣:預設動作會直接殺掉行程,留下
	 * /var/run/dpdk/<prefix> 與沒關閉的連接埠。DPDK 自己的 socket(memif、telemetry、多行程通道)
	 * 都是 SOCK_SEQPACKET / SOCK_DGRAM,對端關閉時不產生 SIGPIPE,所以 SIGPIPE 只會來自我們的輸出。
	 */
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	signal(SIGPIPE, on_signal);

	rc = eal_start(c, eal_argc, argv);
	if (rc)
		goto out_log;
	rc = check_vdevs(c, eal_argc, argv);
	if (!rc)
		rc = select_ports(c);
	if (rc)
		goto out_eal;
	rc = 1;
	if (assign_streams(c) || create_pools(c))
		goto out_streams;
	for (; started < c->nb_ports; started++) {
		uint16_t port = c->ports[started];
		size_t mark = log_mark(c);
		char *pmd_log;
		int ret;

		log_begin(c);
		ret = port_init(c, port);
		pmd_log = log_end(c, mark);
		if (ret && af_xdp_fallback(c, port, pmd_log ? pmd_log : "") == 0)
			ret = port_init(c, port);
		free(pmd_log);
		if (ret) {
			fprintf(stderr, "錯誤:%s\n", c->err);
			started++;      /* 已 configure 的這個也要關閉 */
			goto out_ports;
		}
	}
	finish_streams(c);
	refresh_policy(c);
	telemetry_setup(c);
	wait_links(c);
	printf("模式 %s(引擎 %s),%u 個連接埠,%u 個轉送 lcore,每個連接埠 %u 個 RX 佇列,burst %u,"
	       "L4 checksum %s;telemetry:%s;按 Ctrl-C 結束\n",
	       mode_names[c->cfg.mode], c->engine->name, c->nb_ports, c->nb_fwd_lcores, c->cfg.rxq,
	       c->cfg.burst, l4ck_names[c->cfg.l4_cksum], c->telemetry ? TEL_CMD : "不可用");
	fflush(stdout);

	c->start_tsc = rte_rdtsc();
	if (!force_quit)
		rte_eal_mp_remote_launch(lcore_main, c, CALL_MAIN);
	rte_eal_mp_wait_lcore();
	c->stop_tsc = rte_rdtsc();

	print_stats(c, true);
	rc = 0;
out_ports:
	telemetry_close();      /* telemetry 從此回答「正在結束」,不再讀計數 */
	c->nb_ports = started;
	stop_ports(c);
	check_xdp_left(c);
	if (!rc)
		print_summary_line(c);
out_streams:
	free_streams(c);
out_eal:
	eal_finish(c);
out_log:
	if (c->log)
		fclose(c->log);    /* EAL 的執行緒都結束了,記錄串流才能關 */
	free(c->log_buf);
	free(c->eal_log);
	free(c);
	return rc;
}
