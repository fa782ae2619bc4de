// SPDX-License-Identifier: MIT
/*
 * io_uring_async.c — io_uring 的兩種用法:佇列深度的檔案 I/O(它贏的地方),與一個沒有對端能拖垮的 TCP echo 伺服器
 *
 * io_uring 是兩個與核心共享的環狀佇列:我們把請求(SQE)放進提交佇列,核心把結果(CQE)放進完成佇列;
 * 一次 io_uring_enter 可以送出很多請求、收回很多結果。它省下的是「每個操作一次系統呼叫、一個等待中的執行緒」。
 *
 * 閱讀順序:1. ring 的建立 → 2. SQE 的準備 → 3. 完成事件 → 4. 事件迴圈與統計 → 5. 檔案 I/O 模式 → 6. 選項 → 7. main
 *
 * 檔案 I/O(./io_uring_async --file 路徑 …,第 5 節):永遠有 --qd 個 I/O 在裝置上。一個完成就在同一個槽位補一個;
 * 一次 io_uring_enter 收回所有已完成的,補上的 SQE 每攢 --submit-batch 個就送出(O_DIRECT 預設 1:這台 VM 的
 * 磁碟越早拿到越好;經過 page cache 預設整批,和「等下一個完成」同一次 io_uring_enter)。檔案註冊成固定檔案、每個槽位的緩衝區
 * 註冊成 fixed buffer(核心不必每次查 fd 表、釘住頁面);--direct 時 O_DIRECT,位移、長度、緩衝區依 statx 的
 * STATX_DIOALIGN 對齊。pread 要 N 個執行緒才能有 N 個 I/O 在飛;這裡一個執行緒、一次系統呼叫收回一批完成。
 * 寫入模式只寫自己建立的新檔案(--overwrite 才寫已存在的;使用中的裝置一律拒絕);讀取模式以 O_RDONLY 開。
 *
 * echo 伺服器(./io_uring_async [埠]):整個伺服器只有一個事件迴圈、一個 io_uring:
 *   - 單次 accept × 16(帶對方位址,依來源限制連線數),直接放進固定檔案表(direct descriptor)
 *   - multishot recv + provided buffer ring + recv bundle:一個 SQE 持續收資料,一個 CQE 帶好幾個緩衝區
 *   - SINGLE_ISSUER + DEFER_TASKRUN:完成事件只在我們等待時處理(核心不支援就自動退一步)
 *   - 送出回應與等下一個請求是同一次 io_uring_enter:送出時當場完成的送出,等待時把它的 CQE 算進
 *     要等的個數(submit_and_wait);一條連線的 ping-pong 每個請求一次系統呼叫,epoll 是三次
 *   - 送出一律 MSG_DONTWAIT:先直接從收到的緩衝區送回(零次複製);送不完的複製到這條連線的待送佇列、
 *     緩衝區立刻還給 ring;socket 滿了就等 POLLOUT,不讓送出卡在核心裡抓著記憶體
 *   - 連結的 SHUTDOWN -> CLOSE(IOSQE_IO_HARDLINK + IOSQE_CQE_SKIP_SUCCESS);被逐出的連線以
 *     SETSOCKOPT(SO_LINGER 0)-> CLOSE 送 RST(IORING_OP_URING_CMD,6.7)
 *   - 選用:--sqpoll、--zerocopy(SEND_ZC + fixed buffer)、--no-bundle、--recv single、--taskrun
 *
 * 一個請求的路徑:
 *
 *   對端送來資料
 *     │  multishot recv(一直 armed;每次 arm 有總量上限)
 *     ▼
 *   recv CQE:{第一個緩衝區 bid, 長度}       take_data():先收著(conn.batch,最多 16 個)
 *     │
 *   這一輪 CQE 處理完                          flush_batches()
 *     ├─ 這條連線沒有待送資料:一個 SEND/SENDMSG(這些 bid, MSG_DONTWAIT) ──┐  快速路徑,不複製
 *     └─ 有待送資料:複製到待送佇列(out),bid 立刻歸還                      │
 *                                                                          ▼
 *   send CQE                                   on_send()
 *     ├─ 全部送出:bid 歸還 ring
 *     └─ 只送出一部分 / EAGAIN:剩下的複製到待送佇列最前面,bid 歸還;待送佇列以 SEND/SENDMSG
 *        (MSG_DONTWAIT)送,一次一個;socket 滿了 arm POLLOUT,可寫了再送
 *
 *   所以 ring 的緩衝區只在「收到到下一輪迴圈」之間在我們手上;閒置或被節流的連線一個也不拿。
 *
 *   熱的緩衝區先用:buffer ring 是先進先出,全部 4096 個都放進去的話,每個緩衝區要等其他 4095 個
 *   輪過一遍才再用到,16 MiB 的工作集放不進 L2,核心每次 recv 都寫進冷的記憶體(64 KiB 串流上
 *   recv 的複製是 epoll 的 2 倍多)。所以還回來的 bid 先放進一個後進先出的堆疊,ring 裡只維持
 *   ring_target 個(起始 RING_TARGET_MIN);一輪 CQE 裡有 ENOBUFS 就加倍(最多 --buffers 全部),
 *   整整一秒沒有 ENOBUFS、ring 裡也一直剩一半以上時減半。DPDK 的 mempool 每顆 lcore 的快取也是
 *   後進先出,同一個道理。
 *
 * 連線狀態(conn.state):
 *
 *   OPEN ── 待送 + 一個緩衝區 > --conn-buffer ──▶ THROTTLED ── 待送 <= 一半 ──▶ OPEN
 *    │  不再 arm recv(待送池裡的超過上限時取消正在收的)             (重新 arm recv)
 *    ├── 對方送完(recv 回 0)或伺服器要結束 ──▶ DRAINING:送完待送 -> SHUTDOWN(SHUT_WR) -> CLOSE
 *    └── 錯誤、重設、被逐出、逾時、讓位 ──────▶ CLOSING:丟棄待送,等最後一個 CQE 後 CLOSE
 *
 * 上限(--help 也會印出;一個對端能讓伺服器配置的全部有上限):
 *   - 接收:buffer ring --buffers × --buffer-size(預設 4096 × 4 KiB = 16 MiB),全部連線共用
 *   - 待送:一個待送池 --max-output(預設 64 MiB,16 KiB 的 chunk),全部連線共用;每條連線到 --conn-buffer
 *     (預設 64 KiB)就停止讀取,核心保證最多 RECV_ARM_FACTOR(4)× --conn-buffer(multishot recv 的總量上限)
 *   - 連線:--max-conns(預設 16384),同一個來源位址 --max-per-addr(預設一半);每條約 620 位元組
 *   - 核心替每個 socket 保留的收送緩衝區:預設自動調整(不讀的對端可讓核心保留數 MB,全機上限
 *     net.ipv4.tcp_mem);--sock-buffer 把它固定下來
 *
 * 對端能做與不能做的事(公平規則,bench/epoll_echo 完全相同):
 *   - 送資料但永遠不讀:只佔自己的待送(<= 上限),不拿 ring 的緩衝區。待送池用完時關掉「送出停住最久」的:
 *     先是從來沒讀過的(塞住後一次 POLLOUT 都沒等到),再來才是讀過但最久沒進展的;一條一直在讀的連線
 *     只要還有停住的就不會被關(它收到一大批時佔得也多,所以不看佔多少)。待送池最後 1/16 只給讀過的連線。
 *   - 一群慢速連線(每隔很久送一個位元組):--idle-timeout 秒(預設 60)沒有進出、或這段時間收送不到
 *     --min-progress(預設 1 KiB)就關閉;連線數滿了時閒置最久(至少 1 秒)的讓位給新連線;同一個來源
 *     最多 --max-per-addr 條,所以一台主機佔不滿。
 *   - 連上後什麼都不做(或消失了):只佔連線表的一格,不佔緩衝區,逾時後關閉。
 *   - 送 RST、半關閉:正確處理;半關閉時把該送回的送完再關。
 *   - 記錄不會被灌爆:拒絕、錯誤每秒最多一行(附累計次數);SUMMARY 是精確的。
 *   - 對端不能讓伺服器讀寫超出它自己的資料:每個位元組只原樣送回同一條連線(user_data 帶世代,過時的
 *     CQE 不會算到新連線頭上;逐出時還在讀的 chunk 等送出結束才重用)。
 *
 * 需求:Linux 6.0 以上、liburing 2.3 以上,不需要 root。較新的核心用到更多(啟動時探測、印出實際用了什麼):
 *       DEFER_TASKRUN(6.1)、recv bundle(6.10)、multishot recv 總量上限(6.17,否則單次 recv)、
 *       SETSOCKOPT uring_cmd(6.7,否則逐出時一般關閉)。
 *
 * 用法:
 *   ./io_uring_async                  # echo 伺服器,在 [::]:12345(IPv4 與 IPv6)監聽
 *   ./io_uring_async 8080 --bind 127.0.0.1
 *   ./io_uring_async --file /var/tmp/t --rw write --size 1G --bs 1M --duration 0 --direct   # 建立測試檔
 *   ./io_uring_async --file /var/tmp/t --direct --qd 32       # 4 KiB 隨機讀,10 秒
 *   ./io_uring_async --help
 * 試試看:
 *   echo "測試訊息" | nc -q1 localhost 12345
 *
 * 統計(每秒一行):echo 伺服器是連線數、每秒訊息數、MB/秒、每個訊息幾次 io_uring_enter;檔案模式是
 * IOPS、MB/秒、p50/p99 延遲、每個 I/O 的 CPU 與 io_uring_enter 次數。結束時印總結與一行 SUMMARY。
 * SIGINT / SIGTERM:伺服器停止接受、停止讀取、把待送送完(最多 --drain-timeout 秒)再關;檔案模式停止送出、
 * 等在飛的 I/O 完成。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

/* liburing 2.3 的標頭還沒有這些(核心 6.2 / 6.10 加入) */
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif
#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif
#define SOCKET_URING_OP_SETSOCKOPT 3 /* 核心 6.7 的 uring_cmd;liburing 2.3 還沒有 */

#define EXIT_USAGE 64
#define BGID 1
#define CHUNK_SIZE 16384     /* 待送池的 chunk 大小 */
#define SEND_IOV_MAX 16      /* 一個 SENDMSG 最多合併的段數 */
/*
 * 固定檔案表比 --max-conns 多的空位:超量的連線先放進空位、由我們自己 CLOSE 拒絕,而不是核心 ENFILE。
 * multishot accept 會一口氣接受 backlog 裡的全部連線:一次湧進的比空位多時,空位用完那一條
 * 被核心以 ENFILE 重設,accept 在拒絕的 CLOSE 騰出空位後立刻重新 arm。
 */
#define ACCEPT_HEADROOM 64
#define NO_CHUNK UINT32_MAX
#define ACCEPT_SLOTS 16 /* 同時 arm 的 accept 數:每個帶自己的位址緩衝區 */
/*
 * 一次 arm multishot recv 最多收 RECV_ARM_FACTOR × --conn-buffer 減掉已持有的(sqe->optlen,核心保證);
 * 待送超過 --conn-buffer 時我們取消 recv。額度若等於 --conn-buffer,一連串 64 KiB 的訊息每則都會讓
 * multishot 結束、重新 arm 一次;4 倍時每 4 則(256 KiB)一次。代價:一條連線最多持有的上限是
 * 4 × --conn-buffer(平常停在 --conn-buffer,多的是取消生效之前同一輪收進來的;見 arm_recv)。
 */
#define RECV_ARM_FACTOR 4
#define INLINE_SEND_MAX 16384	 /* 多大以內的快速路徑送出,等待時算成「當場完成」(見 submit_and_wait) */
#define INLINE_WAIT_NS 20000000L /* 算了的話最多等這麼久(萬一它沒送完、正是該先處理的那一個) */
#define RING_TARGET_MIN 64 /* ring 裡至少維持幾個緩衝區(熱的先用,見檔頭) */
#define YIELD_MIN_NS 1000000000ull /* 連線數滿了時,閒置至少這麼久的連線才讓位給新連線 */

struct config; /* 使用者要求的設定;選項解析在檔案後段 */
enum file_rw { RW_RANDREAD, RW_READ, RW_RANDWRITE, RW_WRITE }; /* 檔案模式(--file)的讀寫方式 */

/* ---- 連線 ------------------------------------------------------------------ */

enum conn_state { CONN_OPEN, CONN_THROTTLED, CONN_DRAINING, CONN_CLOSING };

/* 雙向串列的一個節點(嵌在 struct conn 裡);串列依時間排序,最舊的在 head */
struct link {
	struct link *prev, *next;
};
struct lru {
	struct link *head, *tail;
};
#define conn_of(ptr, member) ((struct conn *)((char *)(ptr) - offsetof(struct conn, member)))
enum recv_state { RECV_IDLE, RECV_ARMED, RECV_WAIT_BUF };

/* 待送佇列:待送池裡 chunk 的單向串列,head 從 off 開始讀,tail 從 len 往後寫 */
struct outq {
	uint32_t head, tail; /* chunk 編號;NO_CHUNK = 空 */
	uint32_t nchunks;
	size_t bytes;	/* 待送位元組(不含送出中的) */
};

struct conn {
	uint32_t idx; /* conns[] 的索引 = 固定檔案槽位或 fd */
	uint32_t gen; /* 世代:放進 user_data,過時的 CQE 不會算到新連線頭上 */
	enum conn_state state;
	enum recv_state recv;
	unsigned inflight;  /* 還沒收到最後一個 CQE 的 SQE 數 */
	bool sending;	    /* 一次只有一個送出(快速路徑或待送佇列),或在等 POLLOUT(out_wait) */
	bool out_wait;	    /* socket 的送出緩衝區滿了:等 POLLOUT 再送(不讓送出卡在核心裡抓著 chunk) */
	bool peer_eof;	    /* 對方已送完(recv 回 0) */
	bool shut_sent;	    /* 已送出 SHUTDOWN(SHUT_WR):對方會在收完資料後讀到 EOF */
	uint32_t zc_chunks; /* 還在等零複製通知的 chunk 數(有上限,見 send_queued) */
	/*
	 * ring 緩衝區:這一輪 CQE 收到、還沒處理的(batch),與快速路徑送出中的(nfast 個,在 iov[] 裡)。
	 * 一輪裡同一條連線收到好幾個緩衝區時,合成一個 SENDMSG 直接從 ring 送出(不複製)。
	 * on_dirty:這條連線在 ctx.dirty 串列上(收滿一批先送出後 nbatch 歸零,但仍在串列上)。
	 */
	struct held {
		uint16_t bid;
		uint32_t len;
	} batch[SEND_IOV_MAX];
	uint8_t nbatch, nfast;
	bool on_dirty;
	struct conn *next_dirty;
	struct conn *next_inline; /* 這一輪有快速路徑送出、還沒交給核心的連線(見 submit_and_wait) */
	bool send_short;	  /* 快速路徑送出曾經沒送完(對端讀得慢):之後的送出等待時不算(見 submit_and_wait) */
	size_t send_len;    /* 從待送佇列送出中的位元組 */
	uint32_t send_head; /* 一般送出讀的是從這個 chunk 起的 send_nchunks 個(送完前不能回到待送池) */
	uint32_t send_nchunks;
	uint32_t zc_chunk;  /* 零複製送出中的 chunk;NO_CHUNK = 一般送出 */
	bool recv_cancel;   /* 已送出取消 recv 的 SQE(待送超過 --conn-buffer) */
	bool reset;	    /* 關閉時送 RST(SO_LINGER 0):被逐出的連線,待送本來就要丟掉 */
	/*
	 * 公平規則用的串列(都是「最久以前的在最前面」,搬到尾巴是 O(1)):
	 *   act:全部連線,依最後一次有位元組進出的時間。連線數滿了時,最前面的(閒置最久)讓位給新連線。
	 *   hold_new / hold:待送佇列非空的連線。對端從來沒讀過我們排隊的資料的在 hold_new(依開始排隊的
	 *        時間),讀過的(progressed)在 hold(依最後一次送出有進展的時間)。待送池用完時先關
	 *        hold_new 最前面的,再來才是 hold 最前面的;一直在讀的連線總是在 hold 的尾巴附近。
	 */
	struct link act, hold;
	struct lru *hold_list; /* 在哪個 hold 串列上;NULL = 沒有待送 */
	bool progressed;       /* 送出塞住後又等到 POLLOUT(對端讀過) */
	uint64_t last_active;  /* ns(ctx.now_ns):最後一次有位元組進出 */
	uint64_t last_progress; /* ns:最後一次送出有進展,或開始有待送 */
	uint64_t window_start, window_bytes; /* --min-progress:這個視窗開始的時間與收送的位元組 */
	uint64_t peer_hi, peer_lo; /* 來源位址(見 peer_key;--max-per-addr) */
	struct outq out;
	struct msghdr msg;
	struct iovec iov[SEND_IOV_MAX];
	struct conn *next_wait; /* 等 ring 緩衝區(ENOBUFS)的連線 */
};

/* user_data = 種類(8 位元)| 世代或 chunk(24 位元)| 連線索引(32 位元) */
enum ud_type {
	UD_ACCEPT = 1, UD_RECV, UD_SEND, UD_SEND_ZC, UD_SHUTDOWN, UD_CLOSE,
	UD_POLLOUT, /* 等 socket 可寫 */
	UD_REJECT, /* 超過 --max-conns 被我們拒絕的連線的 CLOSE */
	UD_IGNORE, /* 不需要處理的 CQE:取消 accept、CQE_SKIP_SUCCESS 的 SHUT_WR 失敗時 */
};

static inline uint64_t ud_make(unsigned type, uint32_t mid, uint32_t idx)
{
	return (uint64_t)type << 56 | (uint64_t)(mid & 0xffffff) << 32 | idx;
}

struct stats {
	uint64_t accepted, rejected, closed, evicted, overruns, yielded, slow;
	uint64_t msgs, bytes_in, bytes_out;
	uint64_t fast_sends, copied_bytes, throttles, enobufs, partial_sends, recv_arms, timeouts;
	uint64_t errors, zc_sends, zc_copied, enters, discarded;
	uint64_t cq_overflow; /* 幾次看到 CQ 滿了(CQE 暫存在核心的 overflow backlog;multishot 因此結束) */
	uint64_t cq_dropped;  /* 核心連 backlog 都放不下而丟掉的 CQE(*koverflow) */
	uint64_t inline_timeouts; /* 算了快速送出的等待逾時(INLINE_WAIT_NS):猜錯或對端 20 ms 內沒有下一個請求 */
};

struct features {
	const char *taskrun;
	bool ring_fd_registered;
	bool fixed_files;
	bool sqpoll;
	bool zerocopy; /* SEND_ZC + 待送池註冊成 fixed buffer */
	bool bundle;
	bool recv_cap; /* multishot recv 可以設總量上限(sqe->optlen,核心 6.17);沒有就用單次 recv */
	bool sock_cmd; /* IORING_OP_URING_CMD 的 SETSOCKOPT(6.7):固定檔案表裡的 socket 也能設 SO_LINGER */
};

struct config {
	const char *bind_addr;
	int port;
	unsigned queue_depth;
	unsigned nbufs, buf_size;
	size_t conn_buffer, max_output;
	unsigned max_conns, max_per_addr;
	bool fixed_files, sqpoll, zerocopy, quiet, single_recv;
	int bundle; /* -1 = 核心有就用(預設),0 = 不用,1 = 使用者要求(核心沒有時說明) */
	int sqpoll_cpu;
	size_t zc_threshold;
	const char *taskrun; /* "defer" | "coop" | "none" */
	unsigned wait_nr, wait_usec;
	double drain_timeout;
	unsigned idle_timeout;
	uint64_t min_progress;
	unsigned sock_buffer; /* SO_SNDBUF/SO_RCVBUF;0 = 核心自動調整 */
	/* 檔案 I/O 模式(--file) */
	const char *file_path;
	enum file_rw rw;
	unsigned bs, qd;
	unsigned submit_batch; /* 攢幾個新的 SQE 就送出;沒給時 parse_args 依 --direct 決定(見第 5 節開頭) */
	bool direct, overwrite, verify;
	double duration;
	uint64_t file_size;
};

struct ctx {
	struct config cfg;
	struct io_uring ring;
	struct features feat;
	int listen_fd;
	char listen_name[80]; /* 印出來的監聽位址,例如 [::]:12345(IPv4 與 IPv6) */
	bool accepting;
	/*
	 * accept:ACCEPT_SLOTS 個單次 accept,每個帶自己的位址緩衝區。multishot accept 不回傳對方位址,
	 * 而依來源位址限制連線數(--max-per-addr)需要它。
	 */
	struct accept_slot {
		struct sockaddr_storage addr;
		socklen_t len;
		bool armed;
	} accepts[ACCEPT_SLOTS];
	/* 每個來源位址(IPv4 位址;IPv6 取 /64)的連線數:開放定址的雜湊表,容量是 2 的次方 */
	struct peer {
		uint64_t hi, lo; /* 位址;全零 = 空格 */
		uint32_t conns;
	} *peers;
	uint32_t peers_mask, peers_used; /* 用了幾格:超過一半就不收新的位址(線性探測一定找得到空格) */
	bool accept_backoff; /* EMFILE 之類的錯誤後,等下一秒再 arm accept(避免忙迴圈) */
	unsigned rejecting;  /* 還沒完成的拒絕 CLOSE:它們還佔著固定檔案表的槽位 */
	/* 接收:buffer ring */
	unsigned char *bufs;
	struct io_uring_buf_ring *br;
	size_t br_size;
	unsigned bufs_out;   /* 核心交給我們、還沒還的數量 */
	/*
	 * 還回來、還沒放回 ring 的 bid:後進先出,最近用過(還在快取裡)的先放回去。
	 * ring 裡(就我們所知)還有 posted 個;flush_buffers() 補到 ring_target 個。
	 */
	uint16_t *free_bids;
	unsigned nfree, posted, ring_target;
	unsigned ring_peak;    /* ring_target 的最高值 */
	unsigned bufs_touched; /* 放進過 ring 的不同緩衝區數(頁面被碰過的上限;堆疊裡從沒用過的還在底下) */
	unsigned ring_low; /* 這一秒補貨之前 ring 裡最少剩幾個(需求的尺度) */
	bool ring_empty;   /* 這一輪有 ENOBUFS(一輪最多加倍一次) */
	bool ring_short;   /* 這一秒有 ENOBUFS:ring_target 不減半 */
	/*
	 * --bundle:ring 每個位置放的是哪個 bid(ring_order),與每個 bid 放在哪個位置(ring_pos)。
	 * 一個 bundle CQE 只給第一個 bid,其餘是 ring 裡緊接在它後面的位置(核心依序取用);
	 * 緩衝區歸還的順序和收到的不同,所以 bid 不是連號,要查表。
	 */
	uint16_t *ring_order, *ring_pos;
	unsigned ring_tail;
	/* 待送池 */
	unsigned char *pool;
	size_t pool_bytes;
	uint32_t nchunks, free_head, chunks_free;
	uint32_t reserve; /* 待送池最後這麼多 chunk 只給讀過的連線(見 chunk_alloc) */
	uint32_t zc_busy; /* 在等零複製通知的 chunk 數:最多待送池的 1/4(見 send_queued) */
	struct chunk {
		uint32_t next, off, len; /* off..len 是還沒送出的位元組 */
		uint32_t send_refs;	 /* 還沒完成、正在讀它的一般送出 */
		uint32_t zc_refs;	 /* 還沒收到通知的零複製送出 */
		uint32_t zc_owner, zc_gen; /* 哪條連線的(通知回來時連線可能已經關了) */
		bool retired;		 /* 已送完或已丟棄,只等核心放掉它(送出完成、零複製通知)才回到池裡 */
	} *chunks;
	uint32_t conn_max_chunks;
	/* 連線 */
	struct conn **conns;
	unsigned nslots, active, throttled;
	uint32_t next_gen;
	struct conn *wait_head, *wait_tail;
	struct conn *dirty; /* 這一輪收到資料的連線(見 flush_batches) */
	struct conn *inline_head; /* 快速路徑送出還在 SQ 裡的連線(每條最多一個),見 submit_and_wait */
	struct lru act, hold_new, hold; /* 見 struct conn 的公平規則 */
	unsigned closing; /* CLOSING 狀態的連線數(還佔著槽位,但已經在走了) */
	/* 統計 */
	struct stats st, last;
	struct timespec start, last_tick;
	uint64_t now_ns; /* 每輪事件迴圈讀一次時鐘:連線的時間戳都用它,不必每個事件讀時鐘 */
	time_t last_reject_msg, last_emfile_msg;
};

static volatile sig_atomic_t stop_flag;

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* 64 位元的混合函數(splitmix64):雜湊表的位置、檔案模式的隨機順序與資料內容 */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static void parse_args(int argc, char **argv, struct config *cfg);
static void begin_close(struct ctx *c, struct conn *cn);
static void conn_progress(struct ctx *c, struct conn *cn);
static void flush_buffers(struct ctx *c);
static unsigned ring_floor(const struct ctx *c);

/* ======================================================================
 * 1. io_uring 的建立:ring、buffer ring、固定檔案表、待送池
 * ====================================================================== */

/*
 * 由好到差嘗試 setup 旗標:核心不認得的旗標回 EINVAL,就拿掉最新的那個再試。
 * DEFER_TASKRUN(6.1)需要 SINGLE_ISSUER;COOP_TASKRUN(5.19);SUBMIT_ALL(5.18)。
 * echo 伺服器與檔案模式共用:entries 是 SQ 深度,cq_entries 是 CQ 大小。
 */
static int ring_init(struct ctx *c, unsigned entries, unsigned cq_entries, struct io_uring_params *out)
{
	static const struct {
		const char *name;
		unsigned flags;
	} modes[] = {
		{ "defer", IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN },
		{ "coop", IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG },
		{ "none", 0 },
	};
	const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_CLAMP;
	unsigned first = 0;
	int ret = -EINVAL;

	while (strcmp(modes[first].name, c->cfg.taskrun))
		first++;
	if (c->cfg.sqpoll)
		first = 2; /* SQPOLL 的 task work 由 SQ 執行緒處理:核心不接受 DEFER_TASKRUN / COOP_TASKRUN 搭配它 */
	for (unsigned m = first; m < sizeof(modes) / sizeof(modes[0]); m++) {
		for (int submit_all = 1; submit_all >= 0; submit_all--) {
			struct io_uring_params p = { 0 };

			p.flags = base | modes[m].flags | (submit_all ? IORING_SETUP_SUBMIT_ALL : 0);
			p.cq_entries = cq_entries;
			if (c->cfg.sqpoll) {
				p.flags |= IORING_SETUP_SQPOLL;
				p.sq_thread_idle = 1000;
				if (c->cfg.sqpoll_cpu >= 0) {
					p.flags |= IORING_SETUP_SQ_AFF;
					p.sq_thread_cpu = (unsigned)c->cfg.sqpoll_cpu;
				}
			}
			ret = io_uring_queue_init_params(entries, &c->ring, &p);
			if (ret == 0) {
				c->feat.taskrun = m == 0 ? "SINGLE_ISSUER + DEFER_TASKRUN" : m == 1 ? "COOP_TASKRUN" : "一般模式";
				c->feat.sqpoll = c->cfg.sqpoll;
				if (m != first)
					fprintf(stderr, "注意:核心不支援 --taskrun %s,改用 %s\n", c->cfg.taskrun, modes[m].name);
				/* registered ring fd:io_uring_enter 不必每次查 fd 表;成功時回傳 1 */
				c->feat.ring_fd_registered = io_uring_register_ring_fd(&c->ring) == 1;
				*out = p;
				return 0;
			}
			if (ret != -EINVAL)
				goto fail;
		}
	}
fail:
	if (ret == -EPERM)
		fprintf(stderr, "錯誤:io_uring_queue_init 被拒絕(EPERM):可能是容器的 seccomp 設定"
				"(例如 Docker 預設)或 sysctl kernel.io_uring_disabled 擋掉了 io_uring\n");
	else if (ret == -ENOMEM)
		fprintf(stderr, "錯誤:io_uring_queue_init 失敗:%s(記憶體鎖定上限太低?ulimit -l,或調小 --queue-depth)\n",
			strerror(-ret));
	else if (ret == -ENOSYS)
		fprintf(stderr, "錯誤:這個核心沒有 io_uring(需要 Linux 6.0 以上)\n");
	else
		fprintf(stderr, "錯誤:io_uring_queue_init 失敗:%s(需要 Linux 6.0 以上)\n", strerror(-ret));
	return -1;
}

/* echo 伺服器的 ring:multishot 一個 SQE 產生很多 CQE,CQ 給 SQ 的 4 倍(核心上限 65536) */
static int setup_ring(struct ctx *c)
{
	struct io_uring_params p;
	int ret;

	if (ring_init(c, c->cfg.queue_depth, c->cfg.queue_depth * 4 > 65536 ? 65536 : c->cfg.queue_depth * 4, &p))
		return -1;
	/* recv bundle(6.10):一個 CQE 帶好幾個緩衝區;核心有就用(--no-bundle 關掉) */
	c->feat.bundle = c->cfg.bundle != 0 && (p.features & IORING_FEAT_RECVSEND_BUNDLE);
	/* multishot recv 與 SEND_ZC 同在 6.0 加入:以 SEND_ZC 判斷核心夠不夠新 */
	struct io_uring_probe *probe = io_uring_get_probe_ring(&c->ring);
	bool k60 = probe && io_uring_opcode_supported(probe, IORING_OP_SEND_ZC);
	if (probe)
		io_uring_free_probe(probe);
	if (!k60) {
		fprintf(stderr, "錯誤:這個核心沒有 multishot recv(需要 Linux 6.0 以上)\n");
		return -1;
	}
	if (c->cfg.bundle == 1 && !c->feat.bundle)
		fprintf(stderr, "注意:核心不支援 recv bundle(需要 6.10),--bundle 不生效\n");
	if (c->cfg.fixed_files) {
		/* 固定檔案表的大小也受開檔上限(ulimit -n)限制:必要時降低 --max-conns,並留空位讓我們自己拒絕 */
		struct rlimit rl;
		unsigned table = c->cfg.max_conns + ACCEPT_HEADROOM;
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur < table) {
			table = (unsigned)rl.rlim_cur;
			unsigned headroom = table / 8 < ACCEPT_HEADROOM ? (table / 8 ? table / 8 : 1) : ACCEPT_HEADROOM;
			c->cfg.max_conns = table > headroom ? table - headroom : 1;
			fprintf(stderr, "注意:開檔上限 %u(ulimit -n)也限制固定檔案表:--max-conns 降為 %u\n", table,
				c->cfg.max_conns);
		}
		ret = io_uring_register_files_sparse(&c->ring, table);
		if (ret) {
			fprintf(stderr, "錯誤:註冊 %u 個固定檔案失敗:%s(調小 --max-conns,或用 --no-fixed-files)\n", table,
				strerror(-ret));
			return -1;
		}
		c->feat.fixed_files = true;
		c->nslots = table;
	}
	return 0;
}

static inline unsigned char *buf_addr(struct ctx *c, unsigned bid)
{
	return c->bufs + (size_t)bid * c->cfg.buf_size;
}

/* 反過來:ring 緩衝區裡的某個位址屬於哪個 bid */
static inline unsigned buf_bid(struct ctx *c, const void *p)
{
	return (unsigned)(((const unsigned char *)p - c->bufs) / c->cfg.buf_size);
}

/*
 * 探測 multishot recv 能不能設「這次 arm 最多收多少位元組」(sqe->optlen;liburing 2.3 的標頭叫 file_index)。
 * 舊核心在 prep 時就回 EINVAL。用一對 AF_UNIX socket 試:沒有資料,所以不會用掉緩衝區。
 */
static void probe_recv_cap(struct ctx *c)
{
	struct io_uring_cqe *cqe;
	struct io_uring_sqe *sqe;
	int sv[2], res = 0;
	unsigned head, n = 0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	sqe = io_uring_get_sqe(&c->ring);
	io_uring_prep_recv_multishot(sqe, sv[0], NULL, 0, 0);
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	sqe->file_index = 4096;
	io_uring_sqe_set_data64(sqe, 1);
	sqe = io_uring_get_sqe(&c->ring);
	io_uring_prep_cancel64(sqe, 1, 0);
	io_uring_sqe_set_data64(sqe, 2);
	io_uring_submit_and_wait(&c->ring, 2);
	io_uring_for_each_cqe(&c->ring, head, cqe)
	{
		if (cqe->user_data == 1)
			res = cqe->res;
		n++;
	}
	io_uring_cq_advance(&c->ring, n);
	close(sv[0]);
	close(sv[1]);
	c->feat.recv_cap = res != -EINVAL && !c->cfg.single_recv;
	if (c->feat.bundle && !c->feat.recv_cap) {
		c->feat.bundle = false; /* bundle 只用在 multishot recv 上(arm_recv) */
		if (c->cfg.bundle == 1)
			fprintf(stderr, "注意:單次 recv 不用 bundle,--bundle 不生效\n");
	}
}

/*
 * setsockopt(fd, SOL_SOCKET, SO_LINGER, {1, 0}) 做成 SQE(IORING_OP_URING_CMD,核心 6.7):固定檔案表裡的
 * socket 沒有 fd 可以給 setsockopt。欄位位置照核心的 io_uring_sqe(level/optname 在 addr,optlen 在
 * file_index,optval 在 addr3)。
 */
static const struct linger linger_reset = { .l_onoff = 1, .l_linger = 0 };

static void prep_linger_reset(struct io_uring_sqe *sqe, int fd)
{
	io_uring_prep_rw(IORING_OP_URING_CMD, sqe, fd, NULL, 0, 0);
	sqe->cmd_op = SOCKET_URING_OP_SETSOCKOPT;
	sqe->addr = (uint64_t)SOL_SOCKET | (uint64_t)SO_LINGER << 32;
	sqe->file_index = sizeof(linger_reset);
	sqe->addr3 = (uint64_t)(uintptr_t)&linger_reset;
}

static void probe_sock_cmd(struct ctx *c)
{
	struct io_uring_cqe *cqe;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return;
	prep_linger_reset(io_uring_get_sqe(&c->ring), sv[0]);
	if (io_uring_submit_and_wait(&c->ring, 1) == 1 && !io_uring_peek_cqe(&c->ring, &cqe)) {
		c->feat.sock_cmd = cqe->res == 0;
		io_uring_cqe_seen(&c->ring, cqe);
	}
	close(sv[0]);
	close(sv[1]);
}

/* liburing 2.3 沒有 io_uring_setup_buf_ring():自己 mmap ring 再註冊 */
static int setup_buffers(struct ctx *c)
{
	size_t total = (size_t)c->cfg.nbufs * c->cfg.buf_size;
	struct io_uring_buf_reg reg = { 0 };
	int ret;

	c->bufs = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c->br_size = (size_t)c->cfg.nbufs * sizeof(struct io_uring_buf);
	c->br = mmap(NULL, c->br_size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c->ring_order = calloc(c->cfg.nbufs, sizeof(*c->ring_order));
	c->ring_pos = calloc(c->cfg.nbufs, sizeof(*c->ring_pos));
	c->free_bids = calloc(c->cfg.nbufs, sizeof(*c->free_bids));
	if (c->bufs == MAP_FAILED || c->br == MAP_FAILED || !c->ring_order || !c->ring_pos || !c->free_bids) {
		c->bufs = c->bufs == MAP_FAILED ? NULL : c->bufs;
		c->br = c->br == MAP_FAILED ? NULL : c->br;
		fprintf(stderr, "錯誤:無法配置 %zu 位元組的接收緩衝區:%s(調小 --buffers 或 --buffer-size)\n", total,
			strerror(errno));
		return -1;
	}
	reg.ring_addr = (unsigned long)c->br;
	reg.ring_entries = c->cfg.nbufs;
	reg.bgid = BGID;
	ret = io_uring_register_buf_ring(&c->ring, &reg, 0);
	if (ret) {
		fprintf(stderr, "錯誤:註冊 buffer ring 失敗:%s(需要 Linux 6.0;或記憶體鎖定上限 ulimit -l 太低)\n",
			strerror(-ret));
		return -1;
	}
	io_uring_buf_ring_init(c->br);
	for (unsigned i = c->cfg.nbufs; i-- > 0;)
		c->free_bids[c->nfree++] = (uint16_t)i; /* bid 0 在堆疊頂端 */
	c->ring_target = c->ring_peak = ring_floor(c);
	c->ring_low = UINT_MAX;
	flush_buffers(c);
	probe_recv_cap(c);
	probe_sock_cmd(c);
	return 0;
}

/* 緩衝區還回來:先放進後進先出的堆疊,每輪迴圈 flush_buffers() 再放回 ring */
static void buf_return(struct ctx *c, unsigned bid)
{
	c->bufs_out--;
	c->free_bids[c->nfree++] = (uint16_t)bid;
}

/* 從堆疊頂端(最熱的)補到 ring 裡有 ring_target 個,一次 advance */
static void flush_buffers(struct ctx *c)
{
	unsigned mask = io_uring_buf_ring_mask(c->cfg.nbufs), n = 0;

	while (c->nfree && c->posted + n < c->ring_target) {
		unsigned bid = c->free_bids[--c->nfree], slot = (c->ring_tail + n) & mask;

		io_uring_buf_ring_add(c->br, buf_addr(c, bid), c->cfg.buf_size, (unsigned short)bid, mask, (int)n);
		c->ring_order[slot] = (uint16_t)bid;
		c->ring_pos[bid] = (uint16_t)slot;
		if (bid >= c->bufs_touched) /* 堆疊起初是 0、1、2…由上往下:第一次用到的一定是下一個新 bid */
			c->bufs_touched = bid + 1;
		n++;
	}
	if (n) {
		io_uring_buf_ring_advance(c->br, (int)n);
		c->ring_tail += n;
		c->posted += n;
	}
}

/*
 * 這一輪的 CQE 處理完、補貨之前:ring 空過(ENOBUFS)就多放一倍(一輪只加倍一次,不是每個 ENOBUFS CQE 一次),
 * 並記下這一秒 ring 裡最少剩幾個。
 */
static void ring_adjust(struct ctx *c)
{
	if (c->posted < c->ring_low)
		c->ring_low = c->posted;
	if (!c->ring_empty)
		return;
	c->ring_empty = false;
	c->ring_short = true;
	if (c->ring_target < c->cfg.nbufs) /* 兩者都是 2 的次方:加倍不會超過 nbufs */
		c->ring_target *= 2;
	if (c->ring_target > c->ring_peak)
		c->ring_peak = c->ring_target;
}

/* ring 裡至少維持的數量:RING_TARGET_MIN,--buffers 比它少時就是全部 */
static unsigned ring_floor(const struct ctx *c)
{
	return c->cfg.nbufs < RING_TARGET_MIN ? c->cfg.nbufs : RING_TARGET_MIN;
}

static void ring_tick(struct ctx *c)
{
	/* 整整一秒沒有 ENOBUFS,而且 ring 裡一直剩一半以上(只用到不到一半)才減半:穩定的負載不會被縮到不夠 */
	if (!c->ring_short && c->ring_low >= c->ring_target / 2 && c->ring_target / 2 >= ring_floor(c))
		c->ring_target /= 2;
	c->ring_short = false;
	c->ring_low = UINT_MAX;
}

/*
 * 待送池:一塊 mmap 的記憶體切成 CHUNK_SIZE 的 chunk,以空閒串列管理。
 * --zerocopy 時整塊註冊成一個 fixed buffer(buf_index 0):SEND_ZC 不必每次釘住頁面。
 */
static int setup_pool(struct ctx *c)
{
	c->nchunks = (uint32_t)(c->cfg.max_output / CHUNK_SIZE);
	c->pool_bytes = (size_t)c->nchunks * CHUNK_SIZE;
	c->pool = mmap(NULL, c->pool_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	c->chunks = calloc(c->nchunks, sizeof(*c->chunks));
	if (c->pool == MAP_FAILED || !c->chunks) {
		c->pool = c->pool == MAP_FAILED ? NULL : c->pool;
		fprintf(stderr, "錯誤:無法配置 %zu 位元組的待送池:%s(調小 --max-output)\n", c->pool_bytes, strerror(errno));
		return -1;
	}
	for (uint32_t i = 0; i < c->nchunks; i++)
		c->chunks[i].next = i + 1 < c->nchunks ? i + 1 : NO_CHUNK;
	c->free_head = 0;
	c->chunks_free = c->nchunks;
	/*
	 * 每條連線持有的最多 RECV_ARM_FACTOR × --conn-buffer(見 arm_recv);chunk 數再加 2:
	 * 放到最前面的那幾個 chunk 的第一個沒寫滿,後面原本的佇列頭可能已送出一部分、尾巴沒寫滿。
	 */
	c->conn_max_chunks = (uint32_t)((RECV_ARM_FACTOR * c->cfg.conn_buffer + CHUNK_SIZE - 1) / CHUNK_SIZE) + 2;
	c->reserve = c->nchunks / 16 > 4 * c->conn_max_chunks ? c->nchunks / 16 : 4 * c->conn_max_chunks;
	if (c->reserve > c->nchunks / 4)
		c->reserve = c->nchunks / 4;
	if (c->cfg.zerocopy) {
		struct iovec iov = { .iov_base = c->pool, .iov_len = c->pool_bytes };
		int ret = io_uring_register_buffers(&c->ring, &iov, 1);
		if (ret)
			fprintf(stderr, "注意:待送池註冊成 fixed buffer 失敗(%s;非 root 的 memlock 上限?),不用零複製\n",
				strerror(-ret));
		c->feat.zerocopy = !ret;
	}
	return 0;
}

/*
 * 監聽:預設 [::] 而且關掉 IPV6_V6ONLY,一個 socket 同時接受 IPv4(以 ::ffff:a.b.c.d 出現)與 IPv6;
 * 核心沒有 IPv6 時退回 0.0.0.0。--bind 可以是任一種位址。
 */
static int setup_listener(struct ctx *c)
{
	struct sockaddr_storage ss = { 0 };
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	const char *addr = c->cfg.bind_addr ? c->cfg.bind_addr : "::";
	int one = 1, zero = 0, family = strchr(addr, ':') ? AF_INET6 : AF_INET;

	c->listen_fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->listen_fd < 0 && family == AF_INET6 && errno == EAFNOSUPPORT && !c->cfg.bind_addr) {
		fprintf(stderr, "注意:這個核心沒有 IPv6,只監聽 IPv4(0.0.0.0)\n");
		addr = "0.0.0.0";
		family = AF_INET;
		c->listen_fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	}
	if (c->listen_fd < 0) {
		fprintf(stderr, "錯誤:socket() 失敗:%s\n", strerror(errno));
		return -1;
	}
	if (family == AF_INET6) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)c->cfg.port);
		inet_pton(AF_INET6, addr, &a6->sin6_addr);
		/* 雙協定堆疊:不管 sysctl net.ipv6.bindv6only 是多少,[::] 都同時接受 IPv4 */
		setsockopt(c->listen_fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
		snprintf(c->listen_name, sizeof(c->listen_name), "[%s]:%d%s", addr, c->cfg.port,
			 IN6_IS_ADDR_UNSPECIFIED(&a6->sin6_addr) ? "(IPv4 與 IPv6)" : "");
	} else {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)c->cfg.port);
		inet_pton(AF_INET, addr, &a4->sin_addr);
		snprintf(c->listen_name, sizeof(c->listen_name), "%s:%d", addr, c->cfg.port);
	}
	setsockopt(c->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* 核心的收送緩衝區:設定後不再自動調整,accept 出來的連線繼承(核心替不讀的對端保留的記憶體也有上限) */
	if (c->cfg.sock_buffer) {
		setsockopt(c->listen_fd, SOL_SOCKET, SO_SNDBUF, &c->cfg.sock_buffer, sizeof(c->cfg.sock_buffer));
		setsockopt(c->listen_fd, SOL_SOCKET, SO_RCVBUF, &c->cfg.sock_buffer, sizeof(c->cfg.sock_buffer));
	}
	/* TCP_NODELAY 設在監聽 socket 上:accept 出來的連線(含 direct descriptor)都繼承 */
	setsockopt(c->listen_fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (bind(c->listen_fd, (struct sockaddr *)&ss, family == AF_INET6 ? sizeof(*a6) : sizeof(*a4)) < 0) {
		int e = errno;
		if (e == EADDRINUSE)
			fprintf(stderr, "錯誤:埠 %d 已被使用(EADDRINUSE):換一個埠,或找出佔用者:ss -ltnp 'sport = :%d'\n",
				c->cfg.port, c->cfg.port);
		else if (e == EACCES)
			fprintf(stderr, "錯誤:沒有權限使用埠 %d(EACCES):1024 以下的埠需要 root 或 CAP_NET_BIND_SERVICE\n",
				c->cfg.port);
		else if (e == EADDRNOTAVAIL)
			fprintf(stderr, "錯誤:本機沒有位址 %s(EADDRNOTAVAIL)\n", addr);
		else
			fprintf(stderr, "錯誤:bind %s 失敗:%s\n", c->listen_name, strerror(e));
		return -1;
	}
	if (listen(c->listen_fd, 4096) < 0) {
		fprintf(stderr, "錯誤:listen() 失敗:%s\n", strerror(errno));
		return -1;
	}
	return 0;
}

static int setup_conn_table(struct ctx *c)
{
	if (!c->feat.fixed_files) {
		/* 以 fd 為索引:表格大小 = 開檔上限 */
		struct rlimit rl;
		getrlimit(RLIMIT_NOFILE, &rl);
		c->nslots = rl.rlim_cur > (1u << 21) ? (1u << 21) : (unsigned)rl.rlim_cur;
		if (c->cfg.max_conns + 16 > c->nslots)
			fprintf(stderr, "注意:開檔上限 %u(ulimit -n)低於 --max-conns %u,實際連線數會受限\n", c->nslots,
				c->cfg.max_conns);
	}
	c->conns = calloc(c->nslots, sizeof(*c->conns));
	/* 來源位址表:至少兩倍的格子(線性探測在半滿以下很短) */
	for (c->peers_mask = 1; c->peers_mask < 2 * (c->cfg.max_conns + ACCEPT_HEADROOM); c->peers_mask <<= 1)
		;
	c->peers = calloc(c->peers_mask, sizeof(*c->peers));
	c->peers_mask--;
	if (!c->conns || !c->peers) {
		fprintf(stderr, "錯誤:無法配置連線表\n");
		return -1;
	}
	return 0;
}

static void print_features(struct ctx *c)
{
	struct utsname u;

	uname(&u);
	printf("io_uring echo 伺服器監聽 %s(核心 %s)\n", c->listen_name, u.release);
	printf("  ring:%s,SQ 深度 %u%s%s%s\n", c->feat.taskrun, c->cfg.queue_depth,
	       c->feat.sqpoll ? ",SQPOLL" : "", c->feat.sqpoll && c->cfg.sqpoll_cpu >= 0 ? "(已釘 CPU)" : "",
	       c->feat.ring_fd_registered ? ",registered ring fd" : "");
	printf("  accept:%u 個單次 accept 帶對方位址(依來源限制 %u 條)%s\n", ACCEPT_SLOTS, c->cfg.max_per_addr,
	       c->feat.fixed_files ? ",直接放進固定檔案表(direct descriptor)" : ",一般 fd");
	printf("  recv:%s%s,provided buffer ring %u × %u 位元組(熱的先用:ring 裡平常放 %u 個,ENOBUFS 時加倍)\n",
	       c->feat.recv_cap ? "multishot(每次 arm 有總量上限)"
	       : c->cfg.single_recv ? "單次 recv(--recv single)" : "單次 recv(核心沒有 multishot 總量上限)",
	       c->feat.bundle ? " + bundle(一個 CQE 帶多個緩衝區)"
	       : c->cfg.bundle == 0 ? "(--no-bundle)" : c->feat.recv_cap ? "(核心沒有 recv bundle)" : "",
	       c->cfg.nbufs, c->cfg.buf_size, c->ring_target);
	printf("  send:MSG_DONTWAIT 直接從 ring 緩衝區送;送不完的進待送池(%zu MiB,%s),socket 滿了等 POLLOUT\n",
	       c->pool_bytes >> 20, c->feat.zerocopy ? "fixed buffer,>= 門檻用 SEND_ZC" : "一般 SEND/SENDMSG");
	printf("  逐出:%s\n", !c->feat.fixed_files ? "setsockopt(SO_LINGER 0) 後 close,對端收到 RST"
			      : c->feat.sock_cmd	? "SETSOCKOPT(SO_LINGER 0)-> CLOSE 連結的 SQE,對端收到 RST"
							: "一般 CLOSE(核心沒有 SETSOCKOPT uring_cmd,需要 6.7;對端收到 FIN)");
	if (c->cfg.wait_nr > 1)
		printf("  等待:有流量時每次等 %u 個 CQE(最多 %u µs)\n", c->cfg.wait_nr, c->cfg.wait_usec);
	printf("  上限:每條連線待送 %zu KiB 就停止讀取(最多持有 %zu KiB),連線數 %u(滿了時閒置最久的讓位),"
	       "閒置 %u 秒或每 %u 秒收送不到 %llu 位元組就關閉;記憶體 = 接收 %zu MiB + 待送池 %zu MiB\n",
	       c->cfg.conn_buffer >> 10, (RECV_ARM_FACTOR * c->cfg.conn_buffer) >> 10, c->cfg.max_conns,
	       c->cfg.idle_timeout, c->cfg.idle_timeout, (unsigned long long)c->cfg.min_progress,
	       ((size_t)c->cfg.nbufs * c->cfg.buf_size) >> 20, c->pool_bytes >> 20);
	fflush(stdout);
}

/* ======================================================================
 * 2. 提交:SQE 的準備
 * ====================================================================== */

/*
 * SQ 至少要有 n 個空位:不夠就先送出現有的。SQPOLL 時 io_uring_submit 只把 SQ tail 交給核心(執行緒睡著才
 * 叫醒它),再以 io_uring_sqring_wait 等它消化出空位;只等不交 tail 的話核心看不到新 SQE,會永遠等下去。
 * 連結的 SQE(IOSQE_IO_HARDLINK)要先一次保留整串:串到一半就送出的話,前半串結束在這一次提交,
 * 後半串變成獨立的請求,不再等前一個完成。
 */
static void sq_reserve(struct ctx *c, unsigned n)
{
	while (io_uring_sq_space_left(&c->ring) < n) {
		io_uring_submit(&c->ring);
		c->inline_head = NULL; /* 它們的 CQE 已經在 CQ 裡,可能在這一輪就處理掉:下次等待不能再算 */
		if (c->feat.sqpoll)
			io_uring_sqring_wait(&c->ring);
		c->st.enters++;
	}
}

static struct io_uring_sqe *get_sqe(struct ctx *c)
{
	sq_reserve(c, 1);
	return io_uring_get_sqe(&c->ring);
}

static void sqe_conn(struct ctx *c, struct io_uring_sqe *sqe, struct conn *cn, unsigned type)
{
	if (c->feat.fixed_files)
		sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, ud_make(type, cn->gen, cn->idx));
	cn->inflight++;
}

/* 把沒在等的 accept 槽位都 arm 起來;固定檔案模式下核心自己挑固定檔案表的空位(IORING_FILE_INDEX_ALLOC) */
static void arm_accepts(struct ctx *c)
{
	for (unsigned i = 0; i < ACCEPT_SLOTS; i++) {
		struct accept_slot *a = &c->accepts[i];
		if (a->armed)
			continue;
		struct io_uring_sqe *sqe = get_sqe(c);
		a->len = sizeof(a->addr);
		if (c->feat.fixed_files) /* liburing 2.3 會把 file_index 加一:自動挑空位要傳 ALLOC - 1 */
			io_uring_prep_accept_direct(sqe, c->listen_fd, (struct sockaddr *)&a->addr, &a->len, 0,
						    IORING_FILE_INDEX_ALLOC - 1);
		else
			io_uring_prep_accept(sqe, c->listen_fd, (struct sockaddr *)&a->addr, &a->len, SOCK_CLOEXEC);
		io_uring_sqe_set_data64(sqe, ud_make(UD_ACCEPT, i, 0));
		a->armed = true;
	}
}

/*
 * 背壓的關鍵:每次 arm 時告訴核心「這次最多收 budget 位元組」(sqe->optlen,核心 6.17;核心負責停下),
 * 呼叫者給的是 RECV_ARM_FACTOR × --conn-buffer 減掉現在持有的,所以一條連線持有的永遠
 * <= RECV_ARM_FACTOR × --conn-buffer,由核心保證,不必靠事後取消(取消之前核心可能已經收進一大批)。
 * 待送池裡的超過 --conn-buffer 時我們另外取消 recv(conn_progress),平常就停在那裡;取消要等下一次
 * io_uring_enter 才生效,這之前同一輪收進來的由這個上限擋住。
 * RECV_ARM_FACTOR 是 4:一直在讀的對端(64 KiB 的串流)每收 256 KiB 才讓 multishot 結束、重新 arm 一次,
 * 不是每則訊息一次;代價是一條連線最多持有 4 × --conn-buffer(預設 256 KiB,全部連線共用的待送池另有上限)。
 * 舊核心沒有這個上限:改用單次 recv,每次最多一個緩衝區。
 */
static void arm_recv(struct ctx *c, struct conn *cn, size_t budget)
{
	struct io_uring_sqe *sqe = get_sqe(c);

	if (c->feat.recv_cap) {
		io_uring_prep_recv_multishot(sqe, (int)cn->idx, NULL, 0, 0);
		sqe->file_index = (__u32)budget; /* = sqe->optlen:這次 multishot 的總量上限 */
		if (c->feat.bundle)
			sqe->ioprio |= IORING_RECVSEND_BUNDLE;
	} else {
		io_uring_prep_recv(sqe, (int)cn->idx, NULL, 0, 0);
	}
	sqe->flags |= IOSQE_BUFFER_SELECT;
	sqe->buf_group = BGID;
	sqe_conn(c, sqe, cn, UD_RECV);
	cn->recv = RECV_ARMED;
	c->st.recv_arms++;
}

/*
 * 沒有 ring 緩衝區時(ENOBUFS)排隊;補貨之後只重新 arm ring 裡有幾個就幾條(一條可能拿走好幾個,
 * 剩下的下一輪再說),避免一次全部 arm 又全部 ENOBUFS
 */
static void wait_for_buffers(struct ctx *c, struct conn *cn)
{
	cn->recv = RECV_WAIT_BUF;
	cn->next_wait = NULL;
	if (c->wait_tail)
		c->wait_tail->next_wait = cn;
	else
		c->wait_head = cn;
	c->wait_tail = cn;
}

/* recv == RECV_WAIT_BUF 就表示在這個串列上 */
static void rearm_waiting(struct ctx *c)
{
	unsigned avail = c->posted; /* flush_buffers() 剛補過 */

	while (c->wait_head && avail) {
		struct conn *cn = c->wait_head;

		c->wait_head = cn->next_wait;
		if (!c->wait_head)
			c->wait_tail = NULL;
		cn->recv = RECV_IDLE;
		/* 結束時(DRAINING)也要繼續讀到對方 EOF;CLOSING 的只等自己的 CQE */
		if (cn->state != CONN_CLOSING) {
			conn_progress(c, cn);
			avail--;
		}
	}
}

/* 連線釋放前從等待串列拿掉(很少發生,線性即可) */
static void wait_remove(struct ctx *c, struct conn *cn)
{
	struct conn **pp = &c->wait_head, *prev = NULL;

	while (*pp && *pp != cn) {
		prev = *pp;
		pp = &(*pp)->next_wait;
	}
	if (*pp) {
		*pp = cn->next_wait;
		if (c->wait_tail == cn)
			c->wait_tail = prev;
	}
	cn->recv = RECV_IDLE;
}

/* ---- 來源位址(--max-per-addr) ---- */

/*
 * 來源位址:IPv4(含 IPv6 裡的 ::ffff:a.b.c.d)整個位址,IPv6 取前 64 位元(一台主機通常拿到一整個 /64)。
 * peer_get 找到或放進這個位址的格子;容量是 --max-conns 的兩倍以上,永遠有空格。
 */
static void peer_key(const struct sockaddr_storage *ss, uint64_t *hi, uint64_t *lo)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a6 = (const struct sockaddr_in6 *)ss;
		uint64_t w[2];
		memcpy(w, &a6->sin6_addr, 16);
		if (IN6_IS_ADDR_V4MAPPED(&a6->sin6_addr)) {
			*hi = 4;
			*lo = w[1] >> 32 | 1ull << 40;
		} else {
			*hi = 6;
			*lo = w[0];
		}
	} else {
		*hi = 4;
		*lo = ((const struct sockaddr_in *)ss)->sin_addr.s_addr | 1ull << 40;
	}
}

static uint32_t peer_find(struct ctx *c, uint64_t hi, uint64_t lo)
{
	uint32_t i = (uint32_t)mix64(hi ^ lo) & c->peers_mask;

	while (c->peers[i].hi && (c->peers[i].hi != hi || c->peers[i].lo != lo))
		i = (i + 1) & c->peers_mask;
	return i; /* 找到的格子,或該放它的空格 */
}

/* 連線關閉:這個位址的計數減一;歸零時刪掉這格(線性探測的刪除:把後面同一串的往前搬) */
static void peer_put(struct ctx *c, uint64_t hi, uint64_t lo)
{
	uint32_t i = peer_find(c, hi, lo);

	if (!c->peers[i].hi || --c->peers[i].conns)
		return;
	for (uint32_t j = (i + 1) & c->peers_mask; c->peers[j].hi; j = (j + 1) & c->peers_mask) {
		uint32_t home = (uint32_t)mix64(c->peers[j].hi ^ c->peers[j].lo) & c->peers_mask;
		/* j 的理想位置不在 (i, j] 之間(循環),就可以搬到 i */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			c->peers[i] = c->peers[j];
			i = j;
		}
	}
	c->peers[i] = (struct peer){ 0 };
	c->peers_used--;
}

/* ---- 公平規則的串列(見 struct conn) ---- */

static void lru_remove(struct lru *l, struct link *k)
{
	if (!k->prev && l->head != k)
		return; /* 不在串列上 */
	if (k->prev)
		k->prev->next = k->next;
	else
		l->head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		l->tail = k->prev;
	k->prev = k->next = NULL;
}

static void lru_push(struct lru *l, struct link *k)
{
	k->prev = l->tail;
	k->next = NULL;
	if (l->tail)
		l->tail->next = k;
	else
		l->head = k;
	l->tail = k;
}

/* 有 n 個位元組進出:閒置時間歸零,搬到 act 串列尾巴 */
static void conn_active(struct ctx *c, struct conn *cn, size_t n)
{
	cn->last_active = c->now_ns;
	cn->window_bytes += n;
	if (cn->state == CONN_CLOSING)
		return; /* 關閉中的連線已經不在 act 串列上 */
	lru_remove(&c->act, &cn->act);
	lru_push(&c->act, &cn->act);
}

/* 待送佇列從空變成非空(開始持有待送池):排到 hold_new(從沒讀過)或 hold(讀過)的尾巴 */
static void hold_start(struct ctx *c, struct conn *cn)
{
	cn->last_progress = c->now_ns;
	cn->hold_list = cn->progressed ? &c->hold : &c->hold_new;
	lru_push(cn->hold_list, &cn->hold);
}

/* 排隊的送出有進展(對端在讀):搬到 hold 的尾巴 */
static void hold_progress(struct ctx *c, struct conn *cn)
{
	cn->progressed = true;
	cn->last_progress = c->now_ns;
	if (cn->hold_list)
		lru_remove(cn->hold_list, &cn->hold);
	cn->hold_list = &c->hold;
	lru_push(cn->hold_list, &cn->hold);
}

static void hold_stop(struct ctx *c, struct conn *cn)
{
	(void)c;
	if (cn->hold_list)
		lru_remove(cn->hold_list, &cn->hold);
	cn->hold_list = NULL;
}

/* ---- 待送佇列 ---- */

static inline unsigned char *chunk_data(struct ctx *c, uint32_t id)
{
	return c->pool + (size_t)id * CHUNK_SIZE;
}

static void chunk_free(struct ctx *c, uint32_t id)
{
	struct chunk *k = &c->chunks[id];

	/*
	 * 核心還在讀它(送出還沒完成,或零複製還沒通知):先標記,最後一個參考放掉時才真的歸還。
	 * 連線被逐出時它的待送立刻丟棄,但已提交的 SEND 仍會讀這些位址;若 chunk 馬上給了別條連線,
	 * 那個 SEND 就會把別人的資料送給被逐出的對端。
	 */
	if (k->send_refs || k->zc_refs) {
		k->retired = true;
		return;
	}
	k->retired = false;
	k->next = c->free_head;
	c->free_head = id;
	c->chunks_free++;
}

/*
 * 公平的逐出:待送池用完時關掉「送出停住最久」的連線,不是佔最多的(一個讀得很快的對端收到一大批資料時
 * 佔得也多)。先找從來沒讀過的(hold_new,最早開始排隊的優先:它的待送一個位元組都送不出去)。
 * 要空間的連線自己還沒讀過時,只能關掉已經停住至少 STALL_MIN_NS 的:一群剛重連、還不知道讀不讀的
 * 對端不能讓一條剛開始排隊(正在等第一個 POLLOUT)的連線被關掉。要空間的連線讀過(progressed)時,
 * hold_new 裡任何一條都可以關,再沒有才關讀過但最久沒進展的(hold 最前面);一直在讀的連線總在
 * hold 的尾巴,只要還有停住的就輪不到它。
 * 跳過剛好有送出在飛的(它的 chunk 要等那個 CQE 才能回到池裡);停住的連線等的是 POLLOUT,
 * 沒有送出在飛,關掉它,它的 chunk 立刻回到池裡。找不到就回傳 false,由呼叫者關掉要空間的連線。
 */
#define STALL_MIN_NS 500000000ull
static struct conn *pick_victim(struct ctx *c, struct lru *l, const struct conn *asking, uint64_t min_stall)
{
	unsigned scan = 64;

	for (struct link *k = l->head; k && scan--; k = k->next) {
		struct conn *cn = conn_of(k, hold);
		if (c->now_ns - cn->last_progress < min_stall)
			return NULL; /* 串列依時間排序:後面的停住得更短 */
		if (cn != asking && (!cn->sending || cn->out_wait))
			return cn;
	}
	return NULL;
}

static bool evict_stalled(struct ctx *c, const struct conn *asking)
{
	struct conn *worst = pick_victim(c, &c->hold_new, asking, asking->progressed ? 0 : STALL_MIN_NS);

	if (!worst && asking->progressed && c->hold.head && conn_of(c->hold.head, hold) != asking)
		worst = pick_victim(c, &c->hold, asking, 0);
	if (!worst)
		return false;
	c->st.evicted++;
	worst->reset = true;
	begin_close(c, worst);
	return true;
}

/*
 * 從待送池拿一個 chunk。最後 reserve 個只給讀過的連線(progressed):被關的對端重連時一大群新的
 * 不讀者同一輪一起要空間,它們剛準備好的送出還沒交給核心(chunk 還不能收回),沒有保留的話一條
 * 一直在讀的連線可能剛好在那一輪拿不到。還沒讀過的連線第一次排隊(還不知道它讀不讀)可以用保留的
 * 一半。被逐出的連線在 POLLOUT 等待中,chunk 立刻回來。
 */
/*
 * 每輪迴圈一次:待送池剩不到兩倍保留量時,先關掉 hold_new 裡停住至少 REFILL_MIN_NS 的(沒讀過、
 * 在等 POLLOUT),下一輪要空間的連線(包括剛連上、還不知道讀不讀的)就不必在同一輪互相搶。
 */
#define REFILL_MIN_NS 1000000000ull
static void keep_pool_room(struct ctx *c)
{
	for (struct link *k = c->hold_new.head; k && c->chunks_free < 2 * c->reserve;) {
		struct conn *cn = conn_of(k, hold);
		k = k->next;
		if (c->now_ns - cn->last_progress < REFILL_MIN_NS)
			break; /* 串列依開始排隊的時間排序:後面的更新 */
		if (!cn->out_wait)
			continue;
		c->st.evicted++;
		cn->reset = true;
		begin_close(c, cn);
	}
}

static uint32_t chunk_alloc(struct ctx *c, struct conn *cn)
{
	uint32_t floor = cn->progressed ? 0 : !cn->out.bytes ? c->reserve / 2 : c->reserve;

	for (int tries = 0; c->chunks_free <= floor && tries < 8; tries++)
		if (!evict_stalled(c, cn))
			break;
	if (c->chunks_free <= floor)
		return NO_CHUNK;
	uint32_t id = c->free_head;
	struct chunk *k = &c->chunks[id];
	c->free_head = k->next;
	c->chunks_free--;
	*k = (struct chunk){ .next = NO_CHUNK };
	return id;
}

/* 從 v[] 串起來的資料的第 off 個位元組起,複製 n 個位元組到 dst */
static void iov_copy(unsigned char *dst, const struct iovec *v, size_t off, size_t n)
{
	while (off >= v->iov_len)
		off -= v++->iov_len;
	while (n) {
		size_t take = v->iov_len - off < n ? v->iov_len - off : n;
		memcpy(dst, (const unsigned char *)v->iov_base + off, take);
		dst += take;
		n -= take;
		off = 0;
		v++;
	}
}

/*
 * 把 v[0..nv) 串起來的資料放進待送佇列(front = 放到最前面,給快速路徑沒送完的部分)。
 * 一律緊密地裝進 chunk:一段一個 chunk 的話,16 個小訊息就會用掉 16 個 chunk。
 * 這條連線到上限或待送池(逐出別人後仍然)用完時回傳 false。
 */
static bool out_store(struct ctx *c, struct conn *cn, const struct iovec *v, unsigned nv, bool front)
{
	struct outq *q = &cn->out;
	size_t len = 0;

	for (unsigned i = 0; i < nv; i++)
		len += v[i].iov_len;
	if (!q->bytes && len)
		hold_start(c, cn);
	if (front) {
		/* 從資料的尾巴往前,一個個 chunk 串在最前面:只有(最後放的)第一個 chunk 沒寫滿 */
		while (len) {
			size_t n = len % CHUNK_SIZE ? len % CHUNK_SIZE : CHUNK_SIZE;
			uint32_t id;
			if (q->nchunks >= c->conn_max_chunks || (id = chunk_alloc(c, cn)) == NO_CHUNK)
				return false;
			iov_copy(chunk_data(c, id), v, len - n, n);
			c->chunks[id].len = (uint32_t)n;
			c->chunks[id].next = q->head;
			q->head = id;
			if (q->tail == NO_CHUNK)
				q->tail = id;
			q->nchunks++;
			q->bytes += n;
			len -= n;
		}
		return true;
	}
	for (size_t done = 0; done < len;) {
		struct chunk *t = q->tail == NO_CHUNK ? NULL : &c->chunks[q->tail];
		if (!t || t->len == CHUNK_SIZE) {
			uint32_t id;
			if (q->nchunks >= c->conn_max_chunks || (id = chunk_alloc(c, cn)) == NO_CHUNK)
				return false;
			if (t)
				t->next = id;
			else
				q->head = id;
			q->tail = id;
			q->nchunks++;
			t = &c->chunks[id];
		}
		size_t n = CHUNK_SIZE - t->len < len - done ? CHUNK_SIZE - t->len : len - done;
		iov_copy(chunk_data(c, q->tail) + t->len, v, done, n);
		t->len += (uint32_t)n;
		q->bytes += n;
		done += n;
	}
	return true;
}

/* out_store;超過這條連線的上限或待送池用完時記下原因並關閉連線,回傳 false */
static bool out_put(struct ctx *c, struct conn *cn, const struct iovec *v, unsigned nv, bool front)
{
	if (!out_store(c, cn, v, nv, front)) {
		if (cn->out.nchunks >= c->conn_max_chunks)
			c->st.overruns++; /* 停止讀取後還送來超過一輪 multishot 的量:不該發生 */
		else
			c->st.evicted++;
		cn->reset = true;
		begin_close(c, cn);
		return false;
	}
	return true;
}

/* 這條連線拿著的資料:待送佇列 + 這一輪收到的 + 快速路徑送出中的(沒送出去會回到待送佇列) */
static size_t held_bytes(const struct conn *cn)
{
	size_t b = cn->out.bytes;

	for (unsigned i = 0; i < cn->nbatch; i++)
		b += cn->batch[i].len;
	for (unsigned i = 0; i < cn->nfast; i++)
		b += cn->iov[i].iov_len;
	return b;
}

/* 送出了 n 位元組:從最前面消耗;送完的 chunk 立刻歸還待送池(送完的連線一個 chunk 也不佔) */
static void out_consume(struct ctx *c, struct conn *cn, size_t n)
{
	struct outq *q = &cn->out;

	q->bytes -= n;
	while (n) {
		struct chunk *k = &c->chunks[q->head];
		size_t take = k->len - k->off < n ? k->len - k->off : n;
		k->off += (uint32_t)take;
		n -= take;
		if (k->off < k->len)
			break;
		uint32_t id = q->head;
		q->head = k->next;
		if (q->head == NO_CHUNK)
			q->tail = NO_CHUNK;
		q->nchunks--;
		chunk_free(c, id);
	}
	if (!q->bytes)
		hold_stop(c, cn);
}

static void out_drop(struct ctx *c, struct conn *cn)
{
	while (cn->out.head != NO_CHUNK) {
		uint32_t id = cn->out.head;
		cn->out.head = c->chunks[id].next;
		chunk_free(c, id);
	}
	cn->out = (struct outq){ .head = NO_CHUNK, .tail = NO_CHUNK };
	hold_stop(c, cn);
}

/* 一般送出完成:放掉它讀過的 chunk(被逐出時已丟棄的,這時才真的回到待送池) */
static void send_unref(struct ctx *c, struct conn *cn)
{
	uint32_t id = cn->send_head;

	for (; cn->send_nchunks; cn->send_nchunks--) {
		struct chunk *k = &c->chunks[id];
		uint32_t next = k->next;
		if (!--k->send_refs && k->retired)
			chunk_free(c, id);
		id = next;
	}
}

/* ---- 送出 ---- */

/*
 * 快速路徑:直接從 ring 緩衝區送(一個用 SEND,好幾個用 SENDMSG),MSG_DONTWAIT:
 * 送不出去就立刻回來,不會抓著緩衝區等。
 */
static void send_fast(struct ctx *c, struct conn *cn)
{
	struct io_uring_sqe *sqe = get_sqe(c);
	unsigned n = cn->nbatch;
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		cn->iov[i].iov_base = buf_addr(c, cn->batch[i].bid);
		cn->iov[i].iov_len = cn->batch[i].len;
		len += cn->batch[i].len;
	}
	cn->nfast = (uint8_t)n;
	cn->nbatch = 0;
	if (n == 1) {
		io_uring_prep_send(sqe, (int)cn->idx, cn->iov[0].iov_base, cn->iov[0].iov_len, MSG_NOSIGNAL | MSG_DONTWAIT);
	} else {
		cn->msg.msg_iov = cn->iov;
		cn->msg.msg_iovlen = n;
		io_uring_prep_sendmsg(sqe, (int)cn->idx, &cn->msg, MSG_NOSIGNAL | MSG_DONTWAIT);
	}
	sqe_conn(c, sqe, cn, UD_SEND);
	cn->sending = true;
	c->st.fast_sends++;
	if (!cn->send_short && len <= INLINE_SEND_MAX) {
		cn->next_inline = c->inline_head; /* 送出中(sending)不會再有第二個,所以不會重複 */
		c->inline_head = cn;
	}
}

/*
 * 一輪 CQE 處理完後,處理每條連線這一輪收到的 ring 緩衝區:沒有待送資料就整批從 ring 直接送
 * (send_fast);有的話(前面的還沒送完)複製到待送佇列尾巴,緩衝區立刻歸還。
 * progress = false:從 take_data 呼叫(一個 CQE 還沒處理完),conn_progress 留給 on_recv。
 */
static void batch_flush(struct ctx *c, struct conn *cn, bool progress)
{
	unsigned n = cn->nbatch;
	struct iovec v[SEND_IOV_MAX];
	size_t len = 0;

	if (!n)
		return;
	if (cn->state != CONN_CLOSING && !cn->sending && !cn->out.bytes) {
		send_fast(c, cn);
		return;
	}
	cn->nbatch = 0;
	for (unsigned i = 0; i < n; i++) {
		v[i] = (struct iovec){ buf_addr(c, cn->batch[i].bid), cn->batch[i].len };
		len += cn->batch[i].len;
	}
	/* out_put 失敗時連線開始關閉(CLOSING),資料算丟棄 */
	if (cn->state != CONN_CLOSING && out_put(c, cn, v, n, false))
		c->st.copied_bytes += len;
	else
		c->st.discarded += len;
	for (unsigned i = 0; i < n; i++)
		buf_return(c, cn->batch[i].bid);
	if (progress)
		conn_progress(c, cn);
}

static void flush_batches(struct ctx *c)
{
	while (c->dirty) {
		struct conn *cn = c->dirty;
		c->dirty = cn->next_dirty;
		cn->on_dirty = false;
		batch_flush(c, cn, true);
	}
}

/* 送待送佇列:一般(會等待)的送出;夠大的一段用 SEND_ZC(fixed buffer) */
static void send_queued(struct ctx *c, struct conn *cn)
{
	struct io_uring_sqe *sqe = get_sqe(c);
	struct chunk *k = &c->chunks[cn->out.head];
	/*
	 * MSG_DONTWAIT:socket 滿了就立刻回 EAGAIN(或只送一部分),我們再等 POLLOUT。不讓送出在核心裡
	 * 等:等著的送出抓著它的 chunk,連線被逐出時那些 chunk 要等送出失敗才能回到池裡。
	 */
	unsigned n = 0, flags = MSG_NOSIGNAL | MSG_DONTWAIT;
	size_t first = k->len - k->off;

	cn->sending = true;
	/*
	 * 零複製:核心把資料送出、對端確認之前 chunk 不能重用,而不讀資料的對端可以讓通知一直不回來,
	 * 連線關掉以後也一樣(正常關閉留下的孤兒 socket 帶著沒送出的資料再重試幾分鐘)。
	 * 所以每條連線最多 --conn-buffer、全部連線最多待送池的 1/4 在等通知;超過就改用一般(複製)送出。
	 */
	if (c->feat.zerocopy && first >= c->cfg.zc_threshold &&
	    ((size_t)cn->zc_chunks + 1) * CHUNK_SIZE <= c->cfg.conn_buffer && (k->zc_refs || c->zc_busy < c->nchunks / 4)) {
		io_uring_prep_send_zc_fixed(sqe, (int)cn->idx, chunk_data(c, cn->out.head) + k->off, first, flags,
					    IORING_SEND_ZC_REPORT_USAGE, 0);
		if (c->feat.fixed_files)
			sqe->flags |= IOSQE_FIXED_FILE;
		io_uring_sqe_set_data64(sqe, ud_make(UD_SEND_ZC, cn->out.head, cn->idx));
		cn->inflight++;
		if (k->zc_refs++ == 0) {
			cn->zc_chunks++;
			c->zc_busy++;
			k->zc_owner = cn->idx;
			k->zc_gen = cn->gen;
		}
		cn->zc_chunk = cn->out.head;
		cn->send_len = first;
		c->st.zc_sends++;
		return;
	}
	cn->zc_chunk = NO_CHUNK;
	cn->send_len = 0;
	cn->send_head = cn->out.head;
	for (uint32_t id = cn->out.head; id != NO_CHUNK && n < SEND_IOV_MAX; id = c->chunks[id].next) {
		struct chunk *q = &c->chunks[id];
		if (q->len == q->off)
			break;
		cn->iov[n].iov_base = chunk_data(c, id) + q->off;
		cn->iov[n].iov_len = q->len - q->off;
		cn->send_len += q->len - q->off;
		q->send_refs++;
		n++;
	}
	cn->send_nchunks = n;
	if (n == 1) { /* 一段就用 SEND:核心不必複製 msghdr 與 iovec */
		io_uring_prep_send(sqe, (int)cn->idx, cn->iov[0].iov_base, cn->iov[0].iov_len, (int)flags);
	} else {
		cn->msg.msg_iov = cn->iov;
		cn->msg.msg_iovlen = n;
		io_uring_prep_sendmsg(sqe, (int)cn->idx, &cn->msg, flags);
	}
	sqe_conn(c, sqe, cn, UD_SEND);
}

/* socket 的送出緩衝區滿了:等它可寫(POLLOUT)再送;等待中沒有任何送出在讀 chunk */
static void arm_pollout(struct ctx *c, struct conn *cn)
{
	struct io_uring_sqe *sqe = get_sqe(c);

	io_uring_prep_poll_add(sqe, (int)cn->idx, POLLOUT);
	sqe_conn(c, sqe, cn, UD_POLLOUT);
	cn->sending = cn->out_wait = true;
}

/* ---- 關閉 ---- */

/* 優雅關閉:SHUTDOWN(SHUT_WR) 與 CLOSE 硬連結;shutdown 成功時不產生 CQE,只等 CLOSE 的那一個 */
static void submit_close(struct ctx *c, struct conn *cn, bool shut_first)
{
	struct io_uring_sqe *sqe;

	sq_reserve(c, 2); /* 連結的兩個 SQE 在同一次提交裡 */

	/*
	 * 被逐出的連線以 RST 關閉:一般的 close 在對端不讀(零視窗)時會留下一個孤兒 socket,帶著沒送出的
	 * 資料重試好幾分鐘;RST 讓核心立刻丟掉,對端也立刻知道(它不讀,永遠等不到 FIN)。
	 */
	if (cn->reset && c->feat.fixed_files && c->feat.sock_cmd) {
		sqe = get_sqe(c);
		prep_linger_reset(sqe, (int)cn->idx);
		sqe->flags |= IOSQE_FIXED_FILE | IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0, 0));
		shut_first = false; /* SHUT_WR 的 FIN 沒有意義 */
	} else if (cn->reset && !c->feat.fixed_files) {
		setsockopt((int)cn->idx, SOL_SOCKET, SO_LINGER, &linger_reset, sizeof(linger_reset));
		shut_first = false;
	}
	if (shut_first) {
		sqe = get_sqe(c);
		io_uring_prep_shutdown(sqe, (int)cn->idx, SHUT_WR);
		if (c->feat.fixed_files)
			sqe->flags |= IOSQE_FIXED_FILE;
		sqe->flags |= IOSQE_IO_HARDLINK | IOSQE_CQE_SKIP_SUCCESS;
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0, 0));
	}
	sqe = get_sqe(c);
	if (c->feat.fixed_files)
		io_uring_prep_close_direct(sqe, cn->idx);
	else
		io_uring_prep_close(sqe, (int)cn->idx);
	io_uring_sqe_set_data64(sqe, ud_make(UD_CLOSE, cn->gen, cn->idx));
	cn->inflight++;
}

/* 錯誤、重設、被逐出:丟掉待送,shutdown(SHUT_RDWR) 讓還在路上的 recv/send 結束,最後一個 CQE 回來後 close */
static void begin_close(struct ctx *c, struct conn *cn)
{
	if (cn->state == CONN_CLOSING)
		return;
	if (cn->state == CONN_THROTTLED)
		c->throttled--;
	cn->state = CONN_CLOSING;
	c->closing++;
	lru_remove(&c->act, &cn->act);
	out_drop(c, cn);
	/* 零複製送出的資料還在核心的送出佇列(對端沒讀):只有 RST 會讓核心立刻放掉那些 chunk */
	if (cn->zc_chunks)
		cn->reset = true;
	if (cn->recv == RECV_ARMED || cn->sending) {
		struct io_uring_sqe *sqe = get_sqe(c);
		io_uring_prep_shutdown(sqe, (int)cn->idx, SHUT_RDWR);
		sqe_conn(c, sqe, cn, UD_SHUTDOWN);
	}
	conn_progress(c, cn);
}

static void conn_free(struct ctx *c, struct conn *cn)
{
	if (cn->recv == RECV_WAIT_BUF)
		wait_remove(c, cn);
	if (cn->on_dirty) { /* 不該發生(CLOSE 的 CQE 總在收資料的那一輪之後),但絕不留下懸空指標 */
		for (struct conn **pp = &c->dirty; *pp; pp = &(*pp)->next_dirty)
			if (*pp == cn) {
				*pp = cn->next_dirty;
				break;
			}
	}
	for (unsigned i = 0; i < cn->nbatch; i++)
		buf_return(c, cn->batch[i].bid);
	for (unsigned i = 0; i < cn->nfast; i++) /* 不該發生:送出中的連線 inflight > 0,不會被釋放 */
		buf_return(c, buf_bid(c, cn->iov[i].iov_base));
	out_drop(c, cn);
	lru_remove(&c->act, &cn->act);
	peer_put(c, cn->peer_hi, cn->peer_lo);
	c->conns[cn->idx] = NULL;
	c->active--;
	c->closing--;
	c->st.closed++;
	free(cn);
}

/*
 * 每次某條連線有事件後呼叫:依狀態決定下一步(送、讀、關閉)。
 * 這是狀態機的核心;其他地方只改狀態、不直接決定。
 */
static void conn_progress(struct ctx *c, struct conn *cn)
{
	switch (cn->state) {
	case CONN_OPEN: {
		size_t queued = held_bytes(cn);
		bool over = queued + c->cfg.buf_size > c->cfg.conn_buffer;
		if (cn->recv == RECV_ARMED && cn->out.bytes > c->cfg.conn_buffer && !cn->recv_cancel && c->feat.recv_cap) {
			/*
			 * 背壓:待送池裡的待送超過上限(對端不讀),取消還在收的 multishot recv(結束時的 CQE 沒有
			 * F_MORE,之後進 THROTTLED)。只看待送池:快速路徑送出中的與這一輪收到的是一下子就過去的。
			 */
			struct io_uring_sqe *sqe = get_sqe(c);
			io_uring_prep_cancel64(sqe, ud_make(UD_RECV, cn->gen, cn->idx), 0);
			io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0, 0));
			cn->recv_cancel = true;
		}
		if (cn->recv != RECV_IDLE)
			break;
		if (over) {
			cn->state = CONN_THROTTLED; /* 背壓:不再 arm recv,只送 */
			c->throttled++;
			c->st.throttles++;
		} else if (c->bufs_out < c->cfg.nbufs) {
			arm_recv(c, cn, RECV_ARM_FACTOR * c->cfg.conn_buffer - queued);
		} else {
			wait_for_buffers(c, cn);
		}
		break;
	}
	case CONN_THROTTLED:
		if (held_bytes(cn) <= c->cfg.conn_buffer / 2) {
			cn->state = CONN_OPEN;
			c->throttled--;
			conn_progress(c, cn);
			return;
		}
		break;
	case CONN_DRAINING:
		/*
		 * 不再回應新資料,但對方還沒送完時要繼續讀(讀掉丟棄):socket 裡有沒讀的資料時 close
		 * 會送出 RST,核心會丟掉還沒送達的回應。待送送完 → SHUT_WR → 等對方 EOF → CLOSE。
		 * 對方已經 EOF(最常見:半關閉)時就直接用連結的 SHUTDOWN -> CLOSE。
		 */
		if (!cn->peer_eof && cn->recv == RECV_IDLE)
			arm_recv(c, cn, c->cfg.conn_buffer);
		if (cn->out.bytes || cn->sending || cn->nbatch) /* nbatch:EOF 之前收到、這輪結束時才送的資料 */
			break;
		if (cn->peer_eof && !cn->inflight) {
			cn->state = CONN_CLOSING;
			c->closing++;
			lru_remove(&c->act, &cn->act);
			submit_close(c, cn, !cn->shut_sent);
		} else if (!cn->peer_eof && !cn->shut_sent) {
			struct io_uring_sqe *sqe = get_sqe(c);
			io_uring_prep_shutdown(sqe, (int)cn->idx, SHUT_WR);
			sqe_conn(c, sqe, cn, UD_SHUTDOWN);
			cn->shut_sent = true;
		}
		break;
	case CONN_CLOSING:
		if (!cn->inflight) {
			submit_close(c, cn, false);
		}
		return;
	}
	if (cn->state != CONN_CLOSING && cn->out.bytes && !cn->sending)
		send_queued(c, cn);
}

/* ======================================================================
 * 3. 完成事件
 * ====================================================================== */

/*
 * 連線數滿了(不算已經在關閉的):閒置最久的那條(act 串列最前面,至少閒置 YIELD_MIN_NS)讓位給新連線,
 * 所以一群只偶爾送一個位元組的慢速對端佔不住全部位置。讓位中的連線還佔著槽位,最多 ACCEPT_HEADROOM/2 條。
 */
static bool make_room(struct ctx *c)
{
	struct conn *idle = c->act.head ? conn_of(c->act.head, act) : NULL;

	if (c->active - c->closing < c->cfg.max_conns)
		return true;
	if (!idle || c->closing >= ACCEPT_HEADROOM / 2 || c->now_ns - idle->last_active < YIELD_MIN_NS)
		return false;
	c->st.yielded++;
	begin_close(c, idle);
	return true;
}

/* 拒絕的原因(每秒最多一行,不讓對端灌爆記錄):連線數已滿或這個來源位址已經太多 */
static void reject_note(struct ctx *c, const struct sockaddr_storage *ss, bool per_addr)
{
	char host[INET6_ADDRSTRLEN] = "?";
	time_t t = time(NULL);

	if (!c->accepting || t == c->last_reject_msg)
		return;
	c->last_reject_msg = t;
	if (ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr))
		inet_ntop(AF_INET, &((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr[12], host, sizeof(host));
	else if (ss->ss_family == AF_INET6)
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, host, sizeof(host));
	else
		inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, host, sizeof(host));
	if (per_addr)
		fprintf(stderr, "注意:來源 %s 已有 %u 條連線(--max-per-addr),它的新連線被關閉(拒絕共 %llu 次)\n", host,
			c->cfg.max_per_addr, (unsigned long long)c->st.rejected);
	else
		fprintf(stderr, "注意:連線數已達上限 %u(--max-conns)而且每條都在 1 秒內有進出,新連線被關閉(拒絕共 %llu 次)\n",
			c->cfg.max_conns, (unsigned long long)c->st.rejected);
}

static void on_accept(struct ctx *c, struct io_uring_cqe *cqe, unsigned slot)
{
	struct accept_slot *a = &c->accepts[slot % ACCEPT_SLOTS];
	int fd = cqe->res;

	/* 單次 accept:這輪迴圈結束時重新 arm(process_cqes);只有開檔上限這類錯誤才等下一秒(accept_backoff) */
	a->armed = false;
	if (fd < 0) {
		if ((fd == -EMFILE || fd == -ENFILE) && c->rejecting) {
			/*
			 * 表是被我們自己拒絕、CLOSE 還在路上的連線佔滿的(一次湧進的連線比 ACCEPT_HEADROOM 多):
			 * 這是 --max-conns,不是開檔上限。那些 CLOSE 排在重新 arm 的 accept 前面,會先騰出槽位。
			 */
			return;
		}
		if (fd == -EMFILE || fd == -ENFILE) {
			time_t t = time(NULL);
			c->st.errors++;
			if (t != c->last_emfile_msg)
				fprintf(stderr, "錯誤:開啟的檔案太多(%s):提高 ulimit -n 或調小 --max-conns;稍後重試 accept\n",
					strerror(-fd));
			c->last_emfile_msg = t;
			c->accept_backoff = true;
		} else if (fd != -ECANCELED && fd != -EINTR && fd != -ECONNABORTED) {
			c->st.errors++;
			fprintf(stderr, "注意:accept 失敗:%s\n", strerror(-fd));
			c->accept_backoff = true;
		}
		return;
	}
	struct conn *cn = NULL;
	uint64_t hi, lo;
	peer_key(&a->addr, &hi, &lo);
	uint32_t pi = peer_find(c, hi, lo);
	bool per_addr = c->cfg.max_per_addr && c->peers[pi].conns >= c->cfg.max_per_addr;
	bool table_full = !c->peers[pi].hi && 2 * (c->peers_used + 1) > c->peers_mask + 1;
	if (!c->accepting || (unsigned)fd >= c->nslots || per_addr || table_full || !make_room(c) ||
	    !(cn = calloc(1, sizeof(*cn)))) {
		/* 我們自己拒絕:接受後立刻關閉 */
		c->st.rejected++;
		reject_note(c, &a->addr, per_addr);
		struct io_uring_sqe *sqe = get_sqe(c);
		if (c->feat.fixed_files)
			io_uring_prep_close_direct(sqe, (unsigned)fd);
		else
			io_uring_prep_close(sqe, fd);
		io_uring_sqe_set_data64(sqe, ud_make(UD_REJECT, 0, 0));
		c->rejecting++;
		return;
	}
	cn->idx = (uint32_t)fd;
	cn->gen = ++c->next_gen & 0xffffff;
	cn->last_active = cn->window_start = c->now_ns;
	lru_push(&c->act, &cn->act);
	if (!c->peers[pi].hi)
		c->peers_used++;
	c->peers[pi].hi = cn->peer_hi = hi;
	c->peers[pi].lo = cn->peer_lo = lo;
	c->peers[pi].conns++;
	cn->zc_chunk = NO_CHUNK;
	cn->out = (struct outq){ .head = NO_CHUNK, .tail = NO_CHUNK };
	c->conns[fd] = cn;
	c->active++;
	c->st.accepted++;
	conn_progress(c, cn);
}

/*
 * 一個 recv CQE 的資料:bundle 時跨好幾個 ring 緩衝區,從 CQE 的 bid 所在的位置起依 ring 的順序。
 * 以 CQE 的 bid 為起點(不靠自己數到第幾個):就算哪裡少算了一個,也不會把別的緩衝區(別條連線的資料)
 * 當成這條連線的送出去。cn 是 NULL 時只歸還緩衝區(過時的 CQE)。
 */
static void take_data(struct ctx *c, struct conn *cn, unsigned bid, unsigned len)
{
	unsigned mask = io_uring_buf_ring_mask(c->cfg.nbufs), pos = c->ring_pos[bid];
	bool echo = cn && cn->state != CONN_CLOSING && cn->state != CONN_DRAINING;

	if (echo) {
		c->st.msgs++;
		c->st.bytes_in += len;
	}
	while (len) {
		unsigned n = len < c->cfg.buf_size ? len : c->cfg.buf_size;
		unsigned b = c->feat.bundle ? c->ring_order[pos++ & mask] : bid;
		c->bufs_out++;
		if (c->posted)
			c->posted--;
		else
			c->st.errors++; /* 帳不對:寧可之後少放幾個,也不能回繞成 UINT_MAX(那就再也不補貨) */
		len -= n;
		if (!echo || cn->state == CONN_CLOSING) { /* 中途被逐出時也會變成 CLOSING */
			buf_return(c, b); /* 關閉中:不再回應,讀掉只是為了不讓 close 變成 RST */
			c->st.discarded += n;
			continue;
		}
		/* 先收著,這一輪 CQE 處理完再一起送(flush_batches);收滿一批就先處理掉 */
		if (cn->nbatch == SEND_IOV_MAX)
			batch_flush(c, cn, false);
		if (!cn->on_dirty) {
			cn->on_dirty = true;
			cn->next_dirty = c->dirty;
			c->dirty = cn;
		}
		cn->batch[cn->nbatch].bid = (uint16_t)b;
		cn->batch[cn->nbatch++].len = n;
	}
}

static void on_recv(struct ctx *c, struct conn *cn, struct io_uring_cqe *cqe)
{
	int res = cqe->res;

	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		cn->inflight--;
		cn->recv_cancel = false;
		if (cn->recv != RECV_WAIT_BUF)
			cn->recv = RECV_IDLE;
	}
	if (res <= 0 && (cqe->flags & IORING_CQE_F_BUFFER))
		take_data(c, NULL, cqe->flags >> IORING_CQE_BUFFER_SHIFT, 1); /* 核心不會這樣;萬一有,緩衝區照樣歸還 */
	if (res > 0) {
		conn_active(c, cn, (size_t)res);
		take_data(c, cn, cqe->flags >> IORING_CQE_BUFFER_SHIFT, (unsigned)res);
	} else if (res == 0) {
		cn->peer_eof = true;
		if (cn->state == CONN_OPEN || cn->state == CONN_THROTTLED) {
			if (cn->state == CONN_THROTTLED)
				c->throttled--;
			cn->state = CONN_DRAINING; /* 半關閉:送完剩下的再關 */
		}
	} else if (res == -ENOBUFS) {
		c->st.enobufs++;
		c->ring_empty = true;
		if (cn->state == CONN_OPEN && cn->recv == RECV_IDLE)
			wait_for_buffers(c, cn);
	} else if (res != -ECANCELED) {
		if (res != -ECONNRESET && res != -EPIPE && res != -ENOTCONN) {
			c->st.errors++;
			if (c->st.errors <= 5)
				fprintf(stderr, "注意:recv 失敗:%s\n", strerror(-res));
		}
		begin_close(c, cn);
		return;
	}
	conn_progress(c, cn);
}

static void on_send(struct ctx *c, struct conn *cn, struct io_uring_cqe *cqe)
{
	int res = cqe->res;

	cn->inflight--;
	cn->sending = false;
	if (res > 0)
		conn_active(c, cn, (size_t)res);
	if (cn->nfast) {
		/*
		 * 快速路徑:沒送完的部分(EAGAIN 時是全部)複製到待送佇列最前面(在這段時間收到、
		 * 已經排在佇列裡的資料之前),ring 緩衝區立刻歸還。
		 */
		unsigned n = cn->nfast, first = 0;
		size_t sent = res > 0 ? (size_t)res : 0, left = 0;
		cn->nfast = 0;
		if (res >= 0 || res == -EAGAIN) {
			c->st.bytes_out += sent;
			while (first < n && cn->iov[first].iov_len <= sent)
				sent -= cn->iov[first++].iov_len;
			if (first < n) { /* 往後移 sent 位元組仍在同一個緩衝區裡,下面的 buf_bid 照樣對 */
				cn->send_short = true;
				cn->iov[first].iov_base = (unsigned char *)cn->iov[first].iov_base + sent;
				cn->iov[first].iov_len -= sent;
				for (unsigned i = first; i < n; i++)
					left += cn->iov[i].iov_len;
				c->st.partial_sends++;
				if (cn->state != CONN_CLOSING && out_put(c, cn, &cn->iov[first], n - first, true))
					c->st.copied_bytes += left;
				else
					c->st.discarded += left;
			}
		}
		for (unsigned i = 0; i < n; i++)
			buf_return(c, buf_bid(c, cn->iov[i].iov_base));
		if (res < 0 && res != -EAGAIN)
			goto failed;
		conn_progress(c, cn);
		return;
	}
	send_unref(c, cn);
	if (res < 0 && res != -EAGAIN)
		goto failed;
	if (res < 0)
		res = 0;
	c->st.bytes_out += (unsigned)res;
	if ((size_t)res < cn->send_len)
		c->st.partial_sends++;
	if (cn->state != CONN_CLOSING) {
		out_consume(c, cn, (size_t)res);
		if (res > 0 && cn->progressed && cn->out.bytes)
			hold_progress(c, cn); /* 讀過的連線:依最後一次進展排序 */
		if (cn->out.bytes && (size_t)res < cn->send_len) {
			arm_pollout(c, cn); /* socket 滿了 */
			return;
		}
	}
	conn_progress(c, cn);
	return;
failed:
	if (res != -EPIPE && res != -ECONNRESET && res != -ECANCELED && res != -ENOTCONN)
		c->st.errors++;
	begin_close(c, cn);
}

/* 一個零複製送出結束:chunk 最後一個通知回來時,還給擁有者的額度,已送完的話歸還待送池 */
static void zc_release(struct ctx *c, uint32_t chunk)
{
	struct chunk *k = &c->chunks[chunk];

	if (--k->zc_refs)
		return;
	c->zc_busy--;
	struct conn *owner = k->zc_owner < c->nslots ? c->conns[k->zc_owner] : NULL;
	if (owner && owner->gen == k->zc_gen)
		owner->zc_chunks--;
	if (k->retired)
		chunk_free(c, chunk);
}

/* 零複製:第一個 CQE 是結果(之後有通知時帶 F_MORE);通知 CQE 帶 F_NOTIF,之後 chunk 才能重用 */
static void on_send_zc(struct ctx *c, uint32_t chunk, struct conn *cn, struct io_uring_cqe *cqe)
{
	if (cqe->flags & IORING_CQE_F_NOTIF) {
		if (cqe->res & IORING_NOTIF_USAGE_ZC_COPIED)
			c->st.zc_copied++;
		zc_release(c, chunk);
		return;
	}
	if (!(cqe->flags & IORING_CQE_F_MORE))
		zc_release(c, chunk); /* 不會有通知 */
	if (!cn)
		return;
	cn->zc_chunk = NO_CHUNK;
	on_send(c, cn, cqe); /* 不必等通知:下一段可以馬上送 */
}

static void handle_cqe(struct ctx *c, struct io_uring_cqe *cqe)
{
	uint64_t d = io_uring_cqe_get_data64(cqe);
	unsigned type = (unsigned)(d >> 56);
	uint32_t mid = (uint32_t)(d >> 32) & 0xffffff, idx = (uint32_t)d;
	struct conn *cn = idx < c->nslots ? c->conns[idx] : NULL;

	switch (type) {
	case UD_ACCEPT:
		on_accept(c, cqe, mid);
		return;
	case UD_REJECT:
		c->rejecting--;
		return;
	case UD_IGNORE:
		return;
	case UD_SEND_ZC:
		on_send_zc(c, mid, cn, cqe);
		return;
	}
	if (!cn || cn->gen != mid) {
		/* 過時的 CQE(世代不符):不可能發生,但絕不算到別的連線頭上;帶著的緩衝區(bundle 時好幾個)照樣歸還 */
		if (cqe->flags & IORING_CQE_F_BUFFER)
			take_data(c, NULL, cqe->flags >> IORING_CQE_BUFFER_SHIFT, cqe->res > 0 ? (unsigned)cqe->res : 1);
		c->st.errors++;
		return;
	}
	switch (type) {
	case UD_RECV:
		on_recv(c, cn, cqe);
		break;
	case UD_SEND:
		on_send(c, cn, cqe);
		break;
	case UD_POLLOUT:
		/*
		 * socket 滿了之後又可寫:對端的核心收下了資料(對端在讀)。這才算「讀過」:一條從不讀的連線
		 * 一開始也能送出一些(填滿兩邊的核心緩衝區),但塞住之後就再也等不到 POLLOUT。
		 */
		cn->inflight--;
		cn->sending = cn->out_wait = false;
		if (cqe->res > 0 && cn->state != CONN_CLOSING && cn->out.bytes)
			hold_progress(c, cn);
		conn_progress(c, cn);
		break;
	case UD_SHUTDOWN:
		cn->inflight--;
		conn_progress(c, cn);
		break;
	case UD_CLOSE:
		cn->inflight--;
		conn_free(c, cn);
		break;
	}
}

/* ======================================================================
 * 4. 事件迴圈、統計與結束
 * ====================================================================== */

static double elapsed(const struct timespec *since)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - since->tv_sec) + (double)(t.tv_nsec - since->tv_nsec) / 1e9;
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

/* 處理 CQ 裡的全部 CQE;之後一次歸還緩衝區、重新 arm 等緩衝區的連線 */
static unsigned process_cqes(struct ctx *c)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	io_uring_for_each_cqe(&c->ring, head, cqe)
	{
		handle_cqe(c, cqe);
		n++;
	}
	io_uring_cq_advance(&c->ring, n);
	flush_batches(c);
	keep_pool_room(c);
	ring_adjust(c);
	flush_buffers(c);
	rearm_waiting(c);
	if (c->accepting && !c->accept_backoff)
		arm_accepts(c);
	return n;
}

/*
 * 逾時或太慢而關閉一律送 RST:這種連線的對端通常不讀了,核心的送出佇列裡可能還有我們看不到的資料
 * (已交給 socket、對端沒確認);一般的 close 會留下一個對著零視窗重試好幾分鐘的孤兒 socket(FIN-WAIT-1),
 * 核心的送出緩衝區也跟著留著。RST 讓核心立刻放掉。
 */
static void close_expired(struct ctx *c, struct conn *cn)
{
	cn->reset = true;
	begin_close(c, cn);
}

/*
 * 每秒一次,慢速對端的規則:
 *   - 閒置逾時:超過 --idle-timeout 秒沒有任何位元組進出(act 串列從最前面看,只看到逾時的為止);
 *   - 最低進度:每 --idle-timeout 秒的視窗裡收送不到 --min-progress 位元組(每 30 秒送一個位元組的
 *     慢速攻擊不會被閒置逾時抓到,會被這一條抓到)。這一條要掃過連線表,一秒一次。
 */
static void expire_conns(struct ctx *c)
{
	uint64_t window = (uint64_t)c->cfg.idle_timeout * 1000000000ull;

	if (!window)
		return;
	while (c->act.head) {
		struct conn *cn = conn_of(c->act.head, act);
		if (c->now_ns - cn->last_active <= window)
			break;
		c->st.timeouts++;
		close_expired(c, cn); /* 離開 act 串列 */
	}
	if (!c->cfg.min_progress)
		return;
	for (unsigned i = 0; i < c->nslots; i++) {
		struct conn *cn = c->conns[i];
		if (!cn || cn->state == CONN_CLOSING || c->now_ns - cn->window_start < window)
			continue;
		if (cn->window_bytes < c->cfg.min_progress) {
			c->st.slow++;
			close_expired(c, cn);
		} else {
			cn->window_start = c->now_ns;
			cn->window_bytes = 0;
		}
	}
}

/*
 * CQ 滿了:核心把放不下的 CQE 暫存在 overflow backlog(SQ flags 的 IORING_SQ_CQ_OVERFLOW),
 * 並停掉當時想再送出 CQE 的 multishot(accept、recv;我們看到沒有 F_MORE 就重新 arm)。
 * 資料不會丟,但多了系統呼叫與延遲:常發生就調大 --queue-depth(CQ 是它的 4 倍)。
 */
static void check_cq_overflow(struct ctx *c)
{
	if (!(IO_URING_READ_ONCE(*c->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW))
		return;
	if (!c->st.cq_overflow++)
		fprintf(stderr, "注意:CQ 滿了(CQE 暫存在核心的 overflow backlog,multishot 會被停掉再重新 arm);"
				"常發生就調大 --queue-depth\n");
}

/*
 * 送出 SQ、等至少 wait_nr 個 CQE(或逾時)。自己計算 io_uring_enter 的次數。
 *
 * 快速路徑的送出(MSG_DONTWAIT)在這次 io_uring_enter 送出 SQE 時就完成,CQE 當場進 CQ。等待的個數
 * 不算上它們的話,核心一看 CQ 裡已經有了就立刻回來,下一輪還得再進一次核心才睡得著:一條連線的
 * ping-pong 就是每個請求兩次 io_uring_enter。算上它們,送出回應與等下一個請求是同一次系統呼叫。
 * 但只能算「處理它之前睡著也沒關係」的。送出完成會歸還 ring 緩衝區、可能讓 recv 重新 arm,
 * 沒送完的部分要排進待送佇列,排在它後面的資料要等它完成才送:有連線在等緩衝區(ENOBUFS)、
 * 這條連線的 multishot recv 已經停了(上限用完、節流、關閉中)、它後面已經有待送資料(一輪收到
 * 超過 16 個緩衝區的大訊息:前 16 個先送,其餘排隊)、或送出沒送完時,這個 CQE 就是讓事情往前走的
 * 那一個,先睡的話要等別的事件或逾時(實測:64 KiB 串流每隔幾秒卡 200 ms;1 KiB 緩衝區時 20 KB 的
 * ping-pong 每則多 1 ms)。所以只算:
 *   - 這條連線還在收(OPEN、multishot recv 還 arm 著)、後面沒有待送資料、沒有連線在等緩衝區;
 *   - 不超過 INLINE_SEND_MAX 位元組,且這條連線的快速送出從來沒有沒送完過(send_short,不會重設)。
 *     對端讀得慢、socket 的送出緩衝區滿了才會沒送完;這種連線之後都不算,和以前一樣每個請求兩次。
 * 仍然猜錯(第一次沒送完)時最多多等 INLINE_WAIT_NS(20 ms):算了的那次等待,逾時縮短成它;
 * SUMMARY 的 inline_timeouts 是這種等待逾時的次數。不設得更短,是因為對端在那之內沒有下一個請求時
 * (真實網路、慢的用戶端)每個請求都會多一次計時器喚醒。
 * 不算的 CQE 只會讓等待提早回來(和以前一樣多一次 io_uring_enter),不會多等。
 */
static int submit_and_wait(struct ctx *c, unsigned wait_nr, long timeout_ns)
{
	struct io_uring_cqe *cqe;
	unsigned extra = 0;

	for (struct conn *cn = c->wait_head ? NULL : c->inline_head; cn; cn = cn->next_inline)
		if (cn->state == CONN_OPEN && cn->recv == RECV_ARMED && !cn->recv_cancel && cn->nfast && !cn->out.bytes)
			extra++;
	c->inline_head = NULL;
	if (extra && timeout_ns > INLINE_WAIT_NS)
		timeout_ns = INLINE_WAIT_NS;
	wait_nr += extra;
	struct __kernel_timespec ts = { .tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000 };

	/* CQ 裡已經夠多、SQ 是空的時候 liburing 不會進核心 */
	if (io_uring_cq_ready(&c->ring) < wait_nr || (!c->feat.sqpoll && io_uring_sq_ready(&c->ring)))
		c->st.enters++;
	int ret = io_uring_submit_and_wait_timeout(&c->ring, &cqe, wait_nr, &ts, NULL);
	/* 逾時時 CQ 裡若已經有 CQE(算了的送出一定有),核心回 0 而不是 -ETIME:看收到的夠不夠 */
	if (extra && io_uring_cq_ready(&c->ring) < wait_nr)
		c->st.inline_timeouts++;
	if (ret < 0 && ret != -ETIME && ret != -EINTR && ret != -EAGAIN && ret != -EBUSY)
		return ret;
	return 0;
}

static void print_tick(struct ctx *c, double dt)
{
	uint64_t msgs = c->st.msgs - c->last.msgs;
	char a[32], b[32];

	if (!msgs && c->st.accepted == c->last.accepted && c->st.closed == c->last.closed)
		return; /* 沒有流量就不印 */
	printf("[統計] 連線 %s(節流中 %u)| %s 訊息/秒 | %.2f MB/秒 | 每個訊息 %.2f 次 io_uring_enter | 待送池剩 %u%%%s\n",
	       commas(c->active, a, sizeof(a)), c->throttled, commas((uint64_t)(msgs / dt), b, sizeof(b)),
	       (c->st.bytes_in - c->last.bytes_in) / dt / 1e6,
	       msgs ? (double)(c->st.enters - c->last.enters) / (double)msgs : 0.0,
	       c->nchunks ? (unsigned)(100ull * c->chunks_free / c->nchunks) : 0,
	       c->st.errors > c->last.errors ? " | 有錯誤" : "");
	fflush(stdout);
}

static void event_loop(struct ctx *c)
{
	unsigned got = 0;

	arm_accepts(c);
	clock_gettime(CLOCK_MONOTONIC, &c->last_tick);
	c->now_ns = now_ns();
	while (!stop_flag) {
		/*
		 * --wait-nr > 1:有流量時等到一批 CQE(最多 --wait-usec)才回來;上一輪一個 CQE 都沒有
		 * (閒置)就改回等一個、最多 200 ms,否則閒置的伺服器每 --wait-usec 就醒來一次。
		 */
		bool batch = c->cfg.wait_nr > 1 && got;
		int ret = submit_and_wait(c, batch ? c->cfg.wait_nr : 1,
					  batch ? (long)c->cfg.wait_usec * 1000 : 200000000L);
		if (ret) {
			fprintf(stderr, "錯誤:io_uring_submit_and_wait 失敗:%s\n", strerror(-ret));
			return;
		}
		c->now_ns = now_ns();
		check_cq_overflow(c);
		got = process_cqes(c);
		double dt = elapsed(&c->last_tick);
		if (dt >= 1.0) {
			c->st.cq_dropped = *c->ring.cq.koverflow;
			if (!c->cfg.quiet)
				print_tick(c, dt);
			c->last = c->st;
			clock_gettime(CLOCK_MONOTONIC, &c->last_tick);
			expire_conns(c);
			ring_tick(c);
			c->accept_backoff = false; /* 暫時性錯誤(EMFILE)後每秒重試一次 */
			if (c->accepting)
				arm_accepts(c);
		}
	}
}

/*
 * 優雅結束:停止接受、每條連線停止讀取並把待送送完(DRAINING)→ SHUTDOWN(SHUT_WR) → CLOSE。
 * 對端不讀的連線最多等 --drain-timeout 秒,之後強制關閉(CLOSING)。
 */
static void drain(struct ctx *c)
{
	struct timespec t0;
	bool forced = false;

	c->accepting = false;
	{ /* 取消所有還在等的 accept(5.19:依 fd 取消全部) */
		struct io_uring_sqe *sqe = get_sqe(c);
		io_uring_prep_cancel_fd(sqe, c->listen_fd, IORING_ASYNC_CANCEL_ALL);
		io_uring_sqe_set_data64(sqe, ud_make(UD_IGNORE, 0, 0));
	}
	for (unsigned i = 0; i < c->nslots; i++) {
		struct conn *cn = c->conns[i];
		if (!cn || cn->state == CONN_DRAINING || cn->state == CONN_CLOSING)
			continue;
		if (cn->state == CONN_THROTTLED)
			c->throttled--;
		cn->state = CONN_DRAINING;
		conn_progress(c, cn);
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (c->active && elapsed(&t0) < c->cfg.drain_timeout + 2.0) {
		if (!forced && elapsed(&t0) >= c->cfg.drain_timeout) {
			forced = true;
			for (unsigned i = 0; i < c->nslots; i++)
				if (c->conns[i])
					begin_close(c, c->conns[i]);
		}
		submit_and_wait(c, 1, 100000000L);
		c->now_ns = now_ns();
		check_cq_overflow(c);
		process_cqes(c);
	}
	if (forced)
		fprintf(stderr, "注意:有連線在 %.0f 秒內沒有收完資料(對端不讀),已強制關閉\n", c->cfg.drain_timeout);
	c->st.cq_dropped = *c->ring.cq.koverflow;
}

static void print_summary(struct ctx *c)
{
	double el = elapsed(&c->start);
	struct rusage ru;
	char a[32], b[32], d[32], e[32];

	getrusage(RUSAGE_SELF, &ru);
	double cpu = (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec / 1e6;
	printf("\n== 總結 ==\n");
	printf("  執行時間   %.1f 秒(CPU %.2f 秒)\n", el, cpu);
	printf("  連線       共 %s 條(拒絕 %s、讓位給新連線 %llu、逐出 %llu、閒置逾時 %llu、進度太慢 %llu、超量關閉 %llu)\n",
	       commas(c->st.accepted, a, sizeof(a)), commas(c->st.rejected, b, sizeof(b)),
	       (unsigned long long)c->st.yielded, (unsigned long long)c->st.evicted, (unsigned long long)c->st.timeouts,
	       (unsigned long long)c->st.slow, (unsigned long long)c->st.overruns);
	printf("  訊息       %s 次 recv 完成;io_uring_enter %s 次(每個訊息 %.2f 次)\n", commas(c->st.msgs, d, sizeof(d)),
	       commas(c->st.enters, e, sizeof(e)), c->st.msgs ? (double)c->st.enters / (double)c->st.msgs : 0.0);
	printf("  位元組     收 %s / 送 %s;複製進待送池 %llu(快速路徑送出 %llu 次)\n", commas(c->st.bytes_in, a, sizeof(a)),
	       commas(c->st.bytes_out, b, sizeof(b)), (unsigned long long)c->st.copied_bytes,
	       (unsigned long long)c->st.fast_sends);
	printf("  接收緩衝區 碰過 %u 個(共 %u 個);ring 裡維持的數量最高 %u\n", c->bufs_touched, c->cfg.nbufs, c->ring_peak);
	printf("  背壓       節流 %llu 次、ENOBUFS %llu、部分送出 %llu、CQ 溢位 %llu 次(丟掉 %llu 個 CQE)、錯誤 %llu;"
	       "結束時丟棄 %llu 位元組\n",
	       (unsigned long long)c->st.throttles, (unsigned long long)c->st.enobufs,
	       (unsigned long long)c->st.partial_sends, (unsigned long long)c->st.cq_overflow,
	       (unsigned long long)c->st.cq_dropped, (unsigned long long)c->st.errors,
	       (unsigned long long)c->st.discarded);
	if (c->feat.zerocopy)
		printf("  零複製     %llu 次 SEND_ZC;其中 %llu 次核心其實做了複製(loopback 上一定會複製)\n",
		       (unsigned long long)c->st.zc_sends, (unsigned long long)c->st.zc_copied);
	printf("SUMMARY prog=io_uring_async conns=%llu rejected=%llu yielded=%llu evicted=%llu timeouts=%llu slow=%llu "
	       "overruns=%llu msgs=%llu bytes_in=%llu "
	       "bytes_out=%llu copied=%llu fast_sends=%llu errors=%llu enobufs=%llu partial_sends=%llu throttles=%llu "
	       "recv_arms=%llu inline_timeouts=%llu zc_sends=%llu zc_copied=%llu enters=%llu cq_overflow=%llu cq_dropped=%llu discarded=%llu ring_peak=%u "
	       "bufs_touched=%u elapsed_s=%.3f cpu_s=%.3f\n",
	       (unsigned long long)c->st.accepted, (unsigned long long)c->st.rejected, (unsigned long long)c->st.yielded,
	       (unsigned long long)c->st.evicted, (unsigned long long)c->st.timeouts, (unsigned long long)c->st.slow,
	       (unsigned long long)c->st.overruns, (unsigned long long)c->st.msgs,
	       (unsigned long long)c->st.bytes_in,
	       (unsigned long long)c->st.bytes_out, (unsigned long long)c->st.copied_bytes,
	       (unsigned long long)c->st.fast_sends, (unsigned long long)c->st.errors,
	       (unsigned long long)c->st.enobufs, (unsigned long long)c->st.partial_sends,
	       (unsigned long long)c->st.throttles, (unsigned long long)c->st.recv_arms,
	       (unsigned long long)c->st.inline_timeouts, (unsigned long long)c->st.zc_sends,
	       (unsigned long long)c->st.zc_copied, (unsigned long long)c->st.enters,
	       (unsigned long long)c->st.cq_overflow, (unsigned long long)c->st.cq_dropped,
	       (unsigned long long)c->st.discarded, c->ring_peak, c->bufs_touched, el, cpu);
	fflush(stdout);
}

static void cleanup(struct ctx *c)
{
	/* 逾時還沒結束的連線:io_uring_queue_exit 會取消所有請求;固定檔案隨 ring 關閉 */
	if (c->ring.ring_fd >= 0)
		io_uring_queue_exit(&c->ring);
	if (c->conns) {
		for (unsigned i = 0; i < c->nslots; i++) {
			if (!c->conns[i])
				continue;
			if (!c->feat.fixed_files)
				close((int)i);
			free(c->conns[i]);
		}
		free(c->conns);
	}
	free(c->peers);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->br)
		munmap(c->br, c->br_size);
	if (c->bufs)
		munmap(c->bufs, (size_t)c->cfg.nbufs * c->cfg.buf_size);
	if (c->pool)
		munmap(c->pool, c->pool_bytes);
	free(c->chunks);
	free(c->ring_order);
	free(c->ring_pos);
	free(c->free_bids);
}

/* ======================================================================
 * 5. 檔案 I/O 模式(--file):io_uring 在這裡贏
 *
 * 和 echo 伺服器不同的地方:
 *   - 沒有 buffer ring:每個 I/O 在送出時就知道要讀寫到哪裡,所以每個「槽位」(0..--qd-1)配一個
 *     固定的緩衝區,整塊註冊成 fixed buffer(io_uring_register_buffers):核心不必每次 get_user_pages
 *     釘住頁面。檔案也註冊(io_uring_register_files,IOSQE_FIXED_FILE):不必每次查 fd 表。
 *   - 佇列深度(--qd):永遠有 N 個 I/O 在裝置上。一個完成就在同一個槽位補一個新的。pread 要 N 個
 *     執行緒才能有 N 個 I/O 在飛,每個 I/O 一次系統呼叫與一次執行緒切換;這裡一次 io_uring_enter
 *     收回所有已完成的(QD 32 時這台 VM 平均一次約 10 個)。
 *   - 送出的批次(--submit-batch):補上的 SQE 要攢幾個才交給核心,是「系統呼叫次數」對「裝置多早拿到
 *     工作」的取捨。O_DIRECT 預設 1(和 fio 預設的 iodepth_batch_submit=1 一樣):每個 I/O 都要到裝置;
 *     這台 VM 的 virtio 磁碟上,QD 32 整批送出少約 15% IOPS,而每個 I/O 的 CPU 幾乎一樣(成本大多是
 *     通知裝置的 VM exit,不是 io_uring_enter)。這是量出來的、不是定律:NVMe 上一批共用一次 doorbell
 *     (block plug),批次可能反而較好,在你的裝置上以 --submit-batch 比一比。經過 page cache 預設整批:
 *     命中時讀在送出的那次系統呼叫裡就完成,批次只省 io_uring_enter(快取是冷的時讀又是裝置 I/O)。
 *   - O_DIRECT(--direct):不經過 page cache,直接 DMA 到我們的緩衝區;位移、長度、緩衝區位址都要
 *     對齊(statx 的 STATX_DIOALIGN 告訴我們這個檔案要多少;緩衝區是 mmap 來的,頁對齊)。
 *     不加 --direct 時讀的是 page cache:資料在記憶體裡,唯一的成本就是系統呼叫與複製。
 * 安全:讀取模式只以 O_RDONLY 開檔,不改任何東西;寫入模式只寫進自己建立的新檔案(O_CREAT|O_EXCL),
 * 要寫進已存在的檔案或裝置(毀掉原有內容)必須明確加 --overwrite;使用中的裝置(已掛載、分割區已掛載、
 * swap / RAID / LVM)一律拒絕。FIFO、字元裝置、目錄不開。
 * ====================================================================== */

static const char *const rw_names[] = { "randread", "read", "randwrite", "write" };

/* 延遲直方圖:每個 2 的次方分成 32 格(誤差 < 3%),單位 ns */
#define HIST_SUB 32
#define HIST_N (60 * HIST_SUB)
struct hist {
	uint64_t n;
	uint64_t c[HIST_N];
};

struct file_job {
	int fd;
	bool created;	      /* 檔案是我們建立的(失敗時刪掉,不留下半個檔案) */
	bool random, writing;
	unsigned align;	      /* O_DIRECT 的對齊(位元組) */
	uint64_t size, nblocks; /* 讀寫的範圍:[0, size),nblocks = size / --bs */
	uint64_t issued;	/* 已送出的 I/O 數(第幾個 I/O 決定位移) */
	unsigned half_bits;   /* 隨機順序:[0, 2^(2*half_bits)) 上的 Feistel 排列 */
	uint64_t half_mask, key[4], key_pass;
	unsigned char *bufs;  /* --qd 個 --bs 大小的緩衝區,註冊成 fixed buffer */
	size_t bufs_len;
	struct io_slot {
		uint64_t off;
		uint64_t t_submit; /* ns;同一次 io_uring_enter 送出的共用一個時間 */
	} *slots;
	unsigned inflight;
	uint64_t done, bytes, errors, verify_errors; /* io_uring_enter 次數在 c->st.enters */
	struct hist total, tick;
};

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static unsigned hist_idx(uint64_t v)
{
	if (v < HIST_SUB)
		return (unsigned)v;
	unsigned e = 63 - (unsigned)__builtin_clzll(v); /* >= 5 */
	unsigned i = (e - 4) * HIST_SUB + (unsigned)((v >> (e - 5)) & (HIST_SUB - 1));
	return i < HIST_N ? i : HIST_N - 1;
}

static void hist_add(struct hist *h, uint64_t v)
{
	h->c[hist_idx(v)]++;
	h->n++;
}

/* 第 p 百分位(0..1),回傳該格的中點(ns);沒有樣本時 0 */
static uint64_t hist_pct(const struct hist *h, double p)
{
	uint64_t rank = (uint64_t)(p * (double)h->n + 0.999999), seen = 0;

	if (!h->n)
		return 0;
	for (unsigned i = 0; i < HIST_N; i++) {
		seen += h->c[i];
		if (seen >= rank && h->c[i]) {
			if (i < HIST_SUB)
				return i;
			unsigned e = i / HIST_SUB + 4, sub = i % HIST_SUB;
			uint64_t low = (uint64_t)(HIST_SUB + sub) << (e - 5);
			return low + ((1ull << (e - 5)) >> 1);
		}
	}
	return 0;
}

/*
 * 隨機順序:[0, nblocks) 的一個排列(4 輪 Feistel,超出範圍就再套一次:cycle walking),
 * 所以隨機讀寫每一輪每個區塊剛好一次(和 fio 預設的 random map 一樣),寫完整個檔案就能整個核對。
 */
static uint64_t block_perm(const struct file_job *j, uint64_t i)
{
	do {
		uint64_t l = i >> j->half_bits, r = i & j->half_mask;
		for (int k = 0; k < 4; k++) {
			uint64_t t = r;
			r = (l ^ mix64(r ^ j->key[k])) & j->half_mask;
			l = t;
		}
		i = l << j->half_bits | r;
	} while (i >= j->nblocks);
	return i;
}

/* --verify 的內容:每 8 位元組是它在檔案裡的位移的函數(不同位置的資料都不同,也不會是全零) */
static inline uint64_t pattern_word(uint64_t off)
{
	return mix64(off ^ 0x696f5f7572696e67ull);
}

static void pattern_fill(unsigned char *buf, uint64_t off, unsigned len)
{
	for (unsigned i = 0; i + 8 <= len; i += 8) {
		uint64_t w = pattern_word(off + i);
		memcpy(buf + i, &w, 8);
	}
}

/* 回傳第一個不符的位元組在緩衝區裡的位置;全部相符回傳 -1 */
static long pattern_check(const unsigned char *buf, uint64_t off, unsigned len)
{
	for (unsigned i = 0; i + 8 <= len; i += 8) {
		uint64_t w = pattern_word(off + i), got;
		memcpy(&got, buf + i, 8);
		if (got != w)
			return (long)i;
	}
	return -1;
}

/* 這個 fd 的 O_DIRECT 對齊:statx 的 STATX_DIOALIGN(6.1);0 = 檔案系統沒有真正的直接 I/O */
static unsigned dio_alignment(int fd, const struct stat *st)
{
	struct statx sx;
	struct statfs sf;

	if (!statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) && (sx.stx_mask & STATX_DIOALIGN))
		return sx.stx_dio_offset_align > sx.stx_dio_mem_align ? sx.stx_dio_offset_align : sx.stx_dio_mem_align;
	if (S_ISBLK(st->st_mode)) {
		int lbs = 512;
		ioctl(fd, BLKSSZGET, &lbs);
		return (unsigned)lbs;
	}
	/* 舊核心沒有 STATX_DIOALIGN:tmpfs 的 O_DIRECT 不是直接 I/O,其餘假設 512 位元組 */
	if (!fstatfs(fd, &sf) && sf.f_type == TMPFS_MAGIC)
		return 0;
	return 512;
}

static int file_open_error(const char *path, int e, bool direct)
{
	if (e == ENOENT)
		fprintf(stderr, "錯誤:找不到檔案 %s(讀取模式只讀已存在的檔案;寫入模式可建立新檔,但目錄要存在)\n", path);
	else if (e == EISDIR)
		fprintf(stderr, "錯誤:%s 是目錄,不是檔案\n", path);
	else if (e == EINVAL && direct)
		fprintf(stderr, "錯誤:%s 所在的檔案系統不支援 O_DIRECT(例如 tmpfs):拿掉 --direct\n", path);
	else if (e == EBUSY)
		fprintf(stderr, "錯誤:%s 正在使用中(已掛載、它的分割區已掛載,或被 swap / RAID / LVM 佔用),不寫入\n", path);
	else if (e == EACCES || e == EPERM || e == EROFS)
		fprintf(stderr, "錯誤:沒有權限開啟 %s:%s\n", path, strerror(e));
	else
		fprintf(stderr, "錯誤:無法開啟 %s:%s\n", path, strerror(e));
	return -1;
}

/* 只接受一般檔案與區塊裝置 */
static int file_check_type(const char *path, const struct stat *st)
{
	if (S_ISDIR(st->st_mode))
		return file_open_error(path, EISDIR, false);
	if (!S_ISREG(st->st_mode) && !S_ISBLK(st->st_mode)) {
		fprintf(stderr, "錯誤:%s 不是一般檔案或區塊裝置\n", path);
		return -1;
	}
	return 0;
}

/*
 * 開檔、檢查、決定範圍;寫入模式只寫自己建立的新檔(除非 --overwrite)。
 * 先 stat 再開:FIFO 光是 open 就會一直等到另一端出現,字元裝置的 open 可能有副作用(例如 watchdog)。
 * open 一律帶 O_NONBLOCK(stat 之後路徑被換成 FIFO 也不會卡住),確認是一般檔案或區塊裝置後再拿掉:
 * 檔案帶著 O_NONBLOCK 時,io_uring 遇到要等的讀寫會回 EAGAIN,而不是交給背景執行緒。
 * 寫進區塊裝置要加 O_EXCL:核心的獨佔開啟,裝置本身或它的任何分割區已掛載、或被 swap / RAID / LVM
 * 佔用時回 EBUSY(只比對 /proc/self/mountinfo 的話,分割區已掛載的整顆磁碟照樣會被寫壞)。
 */
static int file_open(struct ctx *c, struct file_job *j)
{
	const struct config *cfg = &c->cfg;
	int flags = (j->writing ? O_WRONLY : O_RDONLY) | O_CLOEXEC | O_NONBLOCK | (cfg->direct ? O_DIRECT : 0);
	struct stat st;

	j->fd = -1;
	if (!stat(cfg->file_path, &st) && file_check_type(cfg->file_path, &st))
		return -1;
	if (j->writing) {
		j->fd = open(cfg->file_path, flags | O_CREAT | O_EXCL, 0644);
		j->created = j->fd >= 0;
		if (j->fd < 0 && errno == EEXIST && !cfg->overwrite) {
			fprintf(stderr, "錯誤:%s 已存在:寫入模式只寫進自己建立的新檔案;"
					"要寫進它(毀掉原有內容)請加 --overwrite\n", cfg->file_path);
			return -1;
		}
		if (j->fd < 0 && errno == EEXIST)
			j->fd = open(cfg->file_path, flags | O_EXCL); /* O_EXCL 不帶 O_CREAT:只對區塊裝置有作用 */
	} else {
		j->fd = open(cfg->file_path, flags);
	}
	if (j->fd < 0)
		return file_open_error(cfg->file_path, errno, cfg->direct);
	fstat(j->fd, &st);
	if (file_check_type(cfg->file_path, &st))
		return -1;
	fcntl(j->fd, F_SETFL, fcntl(j->fd, F_GETFL) & ~O_NONBLOCK);
	if (cfg->direct) {
		j->align = dio_alignment(j->fd, &st);
		if (!j->align) {
			fprintf(stderr, "錯誤:%s 所在的檔案系統沒有真正的直接 I/O(例如 tmpfs:資料本來就在記憶體裡):"
					"拿掉 --direct\n", cfg->file_path);
			return -1;
		}
		if (cfg->bs % j->align) {
			fprintf(stderr, "錯誤:--bs %u 不是這個檔案 O_DIRECT 對齊(%u 位元組)的倍數\n", cfg->bs, j->align);
			return -EXIT_USAGE;
		}
	}
	if (j->created) {
		/* 先配置好空間:之後的寫入不會延長檔案(O_DIRECT 延長檔案的寫入會被序列化),也能先發現空間不足 */
		j->size = cfg->file_size ? cfg->file_size : 64ull << 20;
		int r = posix_fallocate(j->fd, 0, (off_t)j->size);
		if (r == EOPNOTSUPP || r == EINVAL)
			r = ftruncate(j->fd, (off_t)j->size) ? errno : 0;
		if (r) {
			fprintf(stderr, "錯誤:無法配置 %llu 位元組給 %s:%s\n", (unsigned long long)j->size, cfg->file_path,
				strerror(r));
			return -1;
		}
	} else {
		uint64_t fsize = (uint64_t)st.st_size;
		if (S_ISBLK(st.st_mode) && ioctl(j->fd, BLKGETSIZE64, &fsize))
			fsize = 0;
		if (cfg->file_size > fsize) {
			fprintf(stderr, "錯誤:--size %llu 大於 %s 的大小 %llu 位元組\n", (unsigned long long)cfg->file_size,
				cfg->file_path, (unsigned long long)fsize);
			return -1;
		}
		j->size = cfg->file_size ? cfg->file_size : fsize;
	}
	j->nblocks = j->size / cfg->bs;
	if (!j->nblocks) {
		fprintf(stderr, "錯誤:%s 只有 %llu 位元組,小於一個區塊(--bs %u)\n", cfg->file_path,
			(unsigned long long)j->size, cfg->bs);
		return -1;
	}
	j->size = j->nblocks * cfg->bs;
	return 0;
}

/* ring、固定檔案、fixed buffer */
static int file_setup(struct ctx *c, struct file_job *j)
{
	const struct config *cfg = &c->cfg;
	struct io_uring_params p;
	struct iovec *iov;
	int ret;

	if (ring_init(c, cfg->qd, cfg->qd * 2, &p))
		return -1;
	ret = io_uring_register_files(&c->ring, &j->fd, 1);
	if (ret) {
		fprintf(stderr, "錯誤:註冊固定檔案失敗:%s\n", strerror(-ret));
		return -1;
	}
	j->bufs_len = (size_t)cfg->qd * cfg->bs;
	j->bufs = mmap(NULL, j->bufs_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	j->slots = calloc(cfg->qd, sizeof(*j->slots));
	iov = calloc(cfg->qd, sizeof(*iov));
	if (j->bufs == MAP_FAILED || !j->slots || !iov) {
		j->bufs = j->bufs == MAP_FAILED ? NULL : j->bufs;
		free(iov);
		fprintf(stderr, "錯誤:無法配置 %zu 位元組的 I/O 緩衝區(調小 --qd 或 --bs)\n", j->bufs_len);
		return -1;
	}
	/* 寫入的內容:真的資料(不是全零);--verify 時每次送出前依位移重新產生 */
	for (size_t i = 0; i + 8 <= j->bufs_len; i += 8) {
		uint64_t w = mix64(i + 1);
		memcpy(j->bufs + i, &w, 8);
	}
	for (unsigned i = 0; i < cfg->qd; i++)
		iov[i] = (struct iovec){ j->bufs + (size_t)i * cfg->bs, cfg->bs };
	ret = io_uring_register_buffers(&c->ring, iov, cfg->qd);
	free(iov);
	if (ret) {
		fprintf(stderr, "錯誤:註冊 %u 個 fixed buffer(共 %zu 位元組)失敗:%s(記憶體鎖定上限 ulimit -l 太低?"
				"調小 --qd 或 --bs)\n", cfg->qd, j->bufs_len, strerror(-ret));
		return -1;
	}
	j->random = cfg->rw == RW_RANDREAD || cfg->rw == RW_RANDWRITE;
	for (j->half_bits = 1; j->half_bits < 32 && (1ull << (2 * j->half_bits)) < j->nblocks; j->half_bits++)
		;
	j->half_mask = (1ull << j->half_bits) - 1;
	j->key_pass = UINT64_MAX;
	return 0;
}

/* 在槽位 slot 送出第 j->issued 個 I/O;一次性(--duration 0)且整個範圍都送過了就回傳 false */
static bool file_issue(struct ctx *c, struct file_job *j, unsigned slot, uint64_t t)
{
	const struct config *cfg = &c->cfg;
	uint64_t i = j->issued, pass = i / j->nblocks, blk = i % j->nblocks;
	unsigned char *buf = j->bufs + (size_t)slot * cfg->bs;

	if (cfg->duration == 0 && pass > 0)
		return false;
	if (j->random) {
		if (pass != j->key_pass) { /* 每一輪換一個排列 */
			for (int k = 0; k < 4; k++)
				j->key[k] = mix64(pass * 4 + (uint64_t)k + 0x9e3779b97f4a7c15ull);
			j->key_pass = pass;
		}
		blk = block_perm(j, blk);
	}
	j->issued++;
	j->slots[slot] = (struct io_slot){ .off = blk * cfg->bs, .t_submit = t };
	struct io_uring_sqe *sqe = io_uring_get_sqe(&c->ring); /* SQ 與 --qd 一樣大:一定有空位 */
	if (j->writing) {
		if (cfg->verify)
			pattern_fill(buf, j->slots[slot].off, cfg->bs);
		io_uring_prep_write_fixed(sqe, 0, buf, cfg->bs, j->slots[slot].off, (int)slot);
	} else {
		io_uring_prep_read_fixed(sqe, 0, buf, cfg->bs, j->slots[slot].off, (int)slot);
	}
	sqe->flags |= IOSQE_FIXED_FILE;
	io_uring_sqe_set_data64(sqe, slot);
	j->inflight++;
	return true;
}

/* 一個 I/O 完成:記錄延遲、核對資料;出錯時回傳 false(停止送出新的) */
static bool file_complete(struct ctx *c, struct file_job *j, struct io_uring_cqe *cqe, uint64_t t)
{
	const struct config *cfg = &c->cfg;
	unsigned slot = (unsigned)io_uring_cqe_get_data64(cqe);
	const struct io_slot *s = &j->slots[slot];

	j->inflight--;
	if (cqe->res != (int)cfg->bs) {
		/* 只印第一個:出錯後不再送出新的,但在飛的(最多 --qd 個)多半也會以同樣的錯誤回來 */
		if (j->errors++)
			return false;
		if (cqe->res < 0)
			fprintf(stderr, "錯誤:%s 位移 %llu 失敗:%s%s\n", j->writing ? "寫入" : "讀取",
				(unsigned long long)s->off, strerror(-cqe->res),
				cqe->res == -ENOSPC ? "(磁碟空間不足)" : cqe->res == -EINVAL ? "(對齊?)" : "");
		else
			fprintf(stderr, "錯誤:%s 位移 %llu 只完成 %d / %u 位元組(檔案被截短了?)\n",
				j->writing ? "寫入" : "讀取", (unsigned long long)s->off, cqe->res, cfg->bs);
		return false;
	}
	if (cfg->verify && !j->writing) {
		long bad = pattern_check(j->bufs + (size_t)slot * cfg->bs, s->off, cfg->bs);
		if (bad >= 0) {
			if (!j->verify_errors++)
				fprintf(stderr, "錯誤:位移 %llu 的資料與寫入的不符(這個檔案不是以 --verify 寫入的,或資料損毀)\n",
					(unsigned long long)(s->off + (uint64_t)bad));
			return false;
		}
	}
	hist_add(&j->total, t - s->t_submit);
	hist_add(&j->tick, t - s->t_submit);
	j->done++;
	j->bytes += cfg->bs;
	return true;
}

static void file_tick(struct ctx *c, struct file_job *j, double dt, uint64_t ios, uint64_t cpu, uint64_t enters)
{
	char a[32];

	if (!c->cfg.quiet)
		printf("[統計] %s IOPS | %.1f MB/秒 | p50 %.0f µs | p99 %.0f µs | CPU %.2f µs/I/O | 每個 I/O %.2f 次 io_uring_enter\n",
		       commas((uint64_t)((double)ios / dt), a, sizeof(a)), (double)ios * c->cfg.bs / dt / 1e6,
		       (double)hist_pct(&j->tick, 0.50) / 1e3, (double)hist_pct(&j->tick, 0.99) / 1e3,
		       ios ? (double)cpu / (double)ios / 1e3 : 0.0, ios ? (double)enters / (double)ios : 0.0);
	fflush(stdout);
	memset(&j->tick, 0, sizeof(j->tick));
}

/*
 * 送出補上的 SQE(批次滿了)。同時收完成(GETEVENTS,和 fio 的做法一樣):DEFER_TASKRUN 的 task work 只在
 * GETEVENTS 時才跑,只送不收的話,page cache 命中的讀每次送出都帶回新的 CQE,下一次等待就不進核心,
 * 真的到了裝置的那些完成要等每個槽位都卡住才處理。SQPOLL:SQ 執行緒自己拿,只要公布 SQ 的 tail,
 * 它睡著時 liburing 才進核心叫醒它(所以只有那時算一次 io_uring_enter)。
 */
static void file_flush(struct ctx *c)
{
	if (c->feat.sqpoll) {
		if (IO_URING_READ_ONCE(*c->ring.sq.kflags) & IORING_SQ_NEED_WAKEUP)
			c->st.enters++;
		io_uring_submit(&c->ring);
	} else {
		c->st.enters++;
		io_uring_submit_and_get_events(&c->ring);
	}
}

/*
 * 資料路徑:一開始送出 --qd 個;之後每一輪一次 io_uring_enter「送出還沒送的 + 等至少一個完成」,
 * 再把這時 CQ 裡的完成收掉、每個完成在同一個槽位補一個新的,每攢 --submit-batch 個就先送出(file_flush)。
 * 只收進入這一圈時已在 CQ 裡的(最多 --qd 個):這一圈送出的又帶回新的完成(page cache 命中的讀在送出時
 * 就完成),不設上限的話收了還沒 advance 的加上新來的會超過 CQ 的 2 × --qd,溢出到核心的 overflow 清單。
 * 每個等待都有 1 秒的期限(印統計、看 Ctrl-C)。
 */
static int file_run(struct ctx *c, struct file_job *j)
{
	const struct config *cfg = &c->cfg;
	uint64_t t0 = now_ns(), t = t0, last = t0, last_done = 0, last_enters = c->st.enters, last_progress = t0;
	uint64_t cpu0 = cpu_ns(), last_cpu = cpu0, deadline = t0 + (uint64_t)(cfg->duration * 1e9);
	bool issuing = true, failed = false;
	const unsigned batch = cfg->submit_batch;

	for (unsigned s = 0; s < cfg->qd && issuing; s++)
		issuing = file_issue(c, j, s, t);
	while (j->inflight) {
		struct io_uring_cqe *cqe;
		unsigned head, n = 0, ready, pending = 0;

		/* 逾時、EINTR、EAGAIN / EBUSY(核心暫時收不下)都只是再來一圈:在飛的 I/O 還要收 */
		int ret = submit_and_wait(c, 1, 1000000000L);
		if (ret < 0) {
			fprintf(stderr, "錯誤:io_uring_submit_and_wait 失敗:%s\n", strerror(-ret));
			return -1;
		}
		t = now_ns();
		if (stop_flag || (cfg->duration > 0 && t >= deadline))
			issuing = false;
		ready = io_uring_cq_ready(&c->ring);
		io_uring_for_each_cqe(&c->ring, head, cqe)
		{
			if (n == ready)
				break;
			n++;
			unsigned slot = (unsigned)io_uring_cqe_get_data64(cqe);
			if (!file_complete(c, j, cqe, t))
				issuing = false, failed = true;
			else if (issuing && (issuing = file_issue(c, j, slot, t)))
				pending++;
			/* 整批(batch == --qd)就和下一次等待同一次送;送出失敗的 SQE 留在 SQ 裡,下一次再送 */
			if (batch < cfg->qd && pending >= batch) {
				file_flush(c);
				pending = 0;
			}
		}
		/* 不該發生(CQ 是 2 × --qd,一圈最多收 --qd 個);SUMMARY 的 cq_overflow= 讓測試看得到。
		 * 在 advance 之前看:下一次 GETEVENTS 就會把 overflow 清單搬回 CQ、清掉這個旗標 */
		if (IO_URING_READ_ONCE(*c->ring.sq.kflags) & IORING_SQ_CQ_OVERFLOW)
			c->st.cq_overflow++;
		io_uring_cq_advance(&c->ring, n);
		if (n)
			last_progress = t;
		else if (t - last_progress > 10000000000ull && (t - last_progress) % 10000000000ull < 1000000000ull)
			fprintf(stderr, "注意:%.0f 秒沒有任何 I/O 完成(裝置停住了?)\n", (double)(t - last_progress) / 1e9);
		if (t - last >= 1000000000ull) {
			uint64_t cpu = cpu_ns();
			file_tick(c, j, (double)(t - last) / 1e9, j->done - last_done, cpu - last_cpu, c->st.enters - last_enters);
			last = t, last_done = j->done, last_cpu = cpu, last_enters = c->st.enters;
		}
	}
	double el = (double)(t - t0) / 1e9, cpu = (double)(cpu_ns() - cpu0) / 1e9;
	char a[32], b[32], d[32];
	printf("\n== 總結 ==\n");
	printf("  檔案       %s:%s,%u 位元組 × 佇列深度 %u,%s,範圍 %s MiB\n", cfg->file_path, rw_names[cfg->rw], cfg->bs,
	       cfg->qd, cfg->direct ? "O_DIRECT" : "經過 page cache", commas(j->size >> 20, a, sizeof(a)));
	printf("  I/O        %s 次,%.1f 秒:%s IOPS,%.1f MB/秒%s\n", commas(j->done, a, sizeof(a)), el,
	       commas((uint64_t)((double)j->done / el), b, sizeof(b)), (double)j->bytes / el / 1e6,
	       cfg->verify ? (j->writing ? ",已寫入可核對的內容" : ",每個位元組都核對過") : "");
	printf("  延遲       p50 %.1f µs、p99 %.1f µs、p99.9 %.1f µs\n", (double)hist_pct(&j->total, 0.50) / 1e3,
	       (double)hist_pct(&j->total, 0.99) / 1e3, (double)hist_pct(&j->total, 0.999) / 1e3);
	printf("  CPU        %.2f 秒,每個 I/O %.2f µs;io_uring_enter %s 次(每個 I/O %.2f 次)\n", cpu,
	       j->done ? cpu * 1e6 / (double)j->done : 0.0, commas(c->st.enters, d, sizeof(d)),
	       j->done ? (double)c->st.enters / (double)j->done : 0.0);
	if (j->errors)
		printf("  錯誤       %s 個 I/O 失敗(上面只印出第一個)\n", commas(j->errors, a, sizeof(a)));
	if (j->created)
		printf("  已建立     %s(%s MiB,保留給之後讀取核對;不需要時請自行刪除)\n", cfg->file_path,
		       commas(j->size >> 20, a, sizeof(a)));
	if (j->writing && cfg->duration == 0 && j->done < j->nblocks)
		printf("  注意       中途停止:只寫了 %llu / %llu 個區塊,沒寫到的區塊以 --verify 讀取會不符\n",
		       (unsigned long long)j->done, (unsigned long long)j->nblocks);
	printf("SUMMARY prog=io_uring_async mode=file rw=%s bs=%u qd=%u submit_batch=%u direct=%d ios=%llu iops=%.0f mbps=%.2f p50_us=%.2f "
	       "p99_us=%.2f p999_us=%.2f cpu_ns_per_io=%.0f enters=%llu cq_overflow=%llu errors=%llu verify_errors=%llu "
	       "elapsed_s=%.3f cpu_s=%.3f\n",
	       rw_names[cfg->rw], cfg->bs, cfg->qd, batch, cfg->direct, (unsigned long long)j->done, (double)j->done / el,
	       (double)j->bytes / el / 1e6, (double)hist_pct(&j->total, 0.50) / 1e3,
	       (double)hist_pct(&j->total, 0.99) / 1e3, (double)hist_pct(&j->total, 0.999) / 1e3,
	       j->done ? cpu * 1e9 / (double)j->done : 0.0, (unsigned long long)c->st.enters,
	       (unsigned long long)c->st.cq_overflow, (unsigned long long)j->errors, (unsigned long long)j->verify_errors, el, cpu);
	fflush(stdout);
	return failed ? -1 : 0;
}

/* 檔案模式的 main:開檔 -> 設定 -> 執行 -> 清理。寫入模式失敗時刪掉自己建立的檔案 */
static int file_main(struct ctx *c)
{
	struct file_job *j = calloc(1, sizeof(*j));
	int rc = 1;

	if (!j) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		return 1;
	}
	j->writing = c->cfg.rw == RW_RANDWRITE || c->cfg.rw == RW_WRITE;
	int ret = file_open(c, j);
	if (ret) {
		rc = ret == -EXIT_USAGE ? EXIT_USAGE : 1;
		goto out;
	}
	if (file_setup(c, j))
		goto out;
	printf("io_uring 檔案 I/O:%s %s,%u 位元組 × 佇列深度 %u,%s,範圍 %llu MiB%s(核心 %s)\n", rw_names[c->cfg.rw],
	       c->cfg.file_path, c->cfg.bs, c->cfg.qd, c->cfg.direct ? "O_DIRECT" : "經過 page cache",
	       (unsigned long long)(j->size >> 20), j->created ? ",新建立的檔案" : "", c->feat.taskrun);
	printf("  ring:%s%s;固定檔案 + %u 個 fixed buffer;補上的 I/O 每 %u 個送出一次;%s\n", c->feat.taskrun,
	       c->feat.ring_fd_registered ? ",registered ring fd" : "", c->cfg.qd, c->cfg.submit_batch,
	       c->cfg.duration > 0 ? "依時間結束" : "整個範圍一輪後結束");
	fflush(stdout);
	rc = file_run(c, j) ? 1 : 0;
	/*
	 * 寫入之後 fsync(不算在上面的統計裡):經過 page cache 的寫入這時才真的寫到磁碟,寫回的錯誤這時才
	 * 看得到;O_DIRECT 也要它才把檔案的 metadata(配置了但還沒寫過的區段轉成已寫)落盤。
	 */
	if (j->writing && j->done) {
		uint64_t t0 = now_ns();
		if (fsync(j->fd)) {
			fprintf(stderr, "錯誤:fsync %s 失敗:%s(寫入的資料可能沒有落盤)\n", c->cfg.file_path, strerror(errno));
			rc = 1;
		} else {
			printf("  fsync      %.2f 秒(不算在上面的統計裡)\n", (double)(now_ns() - t0) / 1e9);
		}
	}
out:
	if (c->ring.ring_fd >= 0)
		io_uring_queue_exit(&c->ring);
	c->ring.ring_fd = -1;
	if (j->fd >= 0)
		close(j->fd);
	if (rc && j->created && !j->done) {
		unlink(c->cfg.file_path); /* 什麼都還沒寫就失敗:不留下空檔案 */
	}
	if (j->bufs)
		munmap(j->bufs, j->bufs_len);
	free(j->slots);
	free(j);
	return rc;
}

/* ======================================================================
 * 6. 選項與說明
 * ====================================================================== */

struct opt_help {
	struct option opt;
	const char *arg;
	unsigned mode; /* 哪個模式的選項:echo 伺服器、檔案模式或兩者 */
	const char *help;
};
enum { M_NET = 1, M_FILE = 2, M_BOTH = 3 };

enum {
	OPT_NO_FIXED = 256, OPT_SQPOLL_CPU, OPT_ZC_THRESHOLD, OPT_TASKRUN, OPT_WAIT_NR, OPT_WAIT_USEC,
	OPT_BUNDLE, OPT_NO_BUNDLE, OPT_DRAIN, OPT_CONN_BUFFER, OPT_MAX_OUTPUT, OPT_RECV, OPT_IDLE, OPT_MIN_PROGRESS,
	OPT_SOCK_BUFFER, OPT_MAX_PER_ADDR,
	OPT_FILE, OPT_RW, OPT_BS, OPT_QD, OPT_SUBMIT_BATCH, OPT_DIRECT, OPT_DURATION, OPT_SIZE, OPT_OVERWRITE, OPT_VERIFY,
};

static const struct opt_help options[] = {
	{ { "bind", required_argument, NULL, 'a' }, "位址", M_NET,
	  "監聽的 IPv4 或 IPv6 位址(預設 :: 雙協定堆疊,IPv4 與 IPv6 都接受;沒有 IPv6 時 0.0.0.0)" },
	{ { "max-conns", required_argument, NULL, 'c' }, "N", M_NET,
	  "同時連線上限(預設 16384);滿了時關閉閒置最久(且至少閒置 1 秒)的連線讓新連線進來,沒有就拒絕新連線" },
	{ { "max-per-addr", required_argument, NULL, OPT_MAX_PER_ADDR }, "N", M_NET,
	  "同一個來源位址(IPv4 位址,IPv6 的 /64)最多幾條連線;預設 --max-conns 的一半,0 = 不限" },
	{ { "conn-buffer", required_argument, NULL, OPT_CONN_BUFFER }, "位元組", M_NET,
	  "每條連線的待送上限,到了就停止讀取(預設 64K;最多持有 4 倍,核心保證,見下)" },
	{ { "max-output", required_argument, NULL, OPT_MAX_OUTPUT }, "位元組", M_NET,
	  "全部連線共用的待送池(預設 64M);用完時關閉「送出停住最久」的連線,不是佔最多的" },
	{ { "idle-timeout", required_argument, NULL, OPT_IDLE }, "秒", M_NET,
	  "沒有任何位元組進出超過這麼久就關閉;0 = 不限(預設 60)" },
	{ { "min-progress", required_argument, NULL, OPT_MIN_PROGRESS }, "位元組", M_NET,
	  "每 --idle-timeout 秒至少要收送這麼多位元組,否則關閉(擋慢速攻擊;預設 1K,0 = 不檢查)" },
	{ { "sock-buffer", required_argument, NULL, OPT_SOCK_BUFFER }, "位元組", M_NET,
	  "每條連線的核心收送緩衝區(SO_SNDBUF/SO_RCVBUF,核心再加倍);預設 0 = 自動調整(一條不讀的連線可讓核心保留數 MB)" },
	{ { "buffers", required_argument, NULL, 'n' }, "N", M_NET, "接收緩衝區數,2 的次方,16..32768(預設 4096);ring 裡平常只放 64 個(熱的先用;ENOBUFS 時加倍,用不到一半時每秒減半)" },
	{ { "buffer-size", required_argument, NULL, 's' }, "位元組", M_NET, "每個接收緩衝區的大小,64..65536(預設 4096)" },
	{ { "queue-depth", required_argument, NULL, 'q' }, "N", M_NET, "SQ 深度,2 的次方,8..32768(預設 1024;CQ 是 4 倍)" },
	{ { "no-fixed-files", no_argument, NULL, OPT_NO_FIXED }, NULL, M_NET, "不用固定檔案表(每個操作都要查 fd 表)" },
	{ { "zerocopy", no_argument, NULL, 'z' }, NULL, M_NET, "待送池註冊成 fixed buffer,夠大的送出用 SEND_ZC(在等核心通知的最多待送池的 1/4)" },
	{ { "zc-threshold", required_argument, NULL, OPT_ZC_THRESHOLD }, "位元組", M_NET, "SEND_ZC 的最小長度(預設 16K)" },
	{ { "recv", required_argument, NULL, OPT_RECV }, "方式", M_NET,
	  "multishot(預設;核心太舊時自動改用 single)| single:每次收一個緩衝區" },
	{ { "bundle", no_argument, NULL, OPT_BUNDLE }, NULL, M_NET,
	  "recv bundle:一個 CQE 帶多個緩衝區(核心 6.10+ 預設就用;核心不支援時這個選項會說)" },
	{ { "no-bundle", no_argument, NULL, OPT_NO_BUNDLE }, NULL, M_NET, "不用 recv bundle(每個緩衝區一個 CQE)" },
	{ { "wait-nr", required_argument, NULL, OPT_WAIT_NR }, "N", M_NET, "每次等到 N 個 CQE 才回來(預設 1)" },
	{ { "wait-usec", required_argument, NULL, OPT_WAIT_USEC }, "µs", M_NET, "--wait-nr > 1 時最多等多久(預設 50)" },
	{ { "drain-timeout", required_argument, NULL, OPT_DRAIN }, "秒", M_NET, "結束時等待待送資料送完的上限(預設 5)" },
	{ { "file", required_argument, NULL, OPT_FILE }, "路徑", M_FILE,
	  "檔案 I/O 模式:對這個檔案(或區塊裝置)做 I/O,不當 echo 伺服器" },
	{ { "rw", required_argument, NULL, OPT_RW }, "方式", M_FILE,
	  "randread(預設)| read | randwrite | write;寫入只寫進自己建立的新檔案" },
	{ { "bs", required_argument, NULL, OPT_BS }, "位元組", M_FILE, "每個 I/O 的大小,512 的倍數,512..8M(預設 4K)" },
	{ { "qd", required_argument, NULL, OPT_QD }, "N", M_FILE, "佇列深度:同時在飛的 I/O 數,1..4096(預設 32)" },
	{ { "submit-batch", required_argument, NULL, OPT_SUBMIT_BATCH }, "N", M_FILE,
	  "補上的 I/O 每攢 N 個就送出,1..--qd;預設 --direct 時 1(這台 VM 的磁碟上越早拿到越好),否則 = --qd(整批)" },
	{ { "direct", no_argument, NULL, OPT_DIRECT }, NULL, M_FILE, "O_DIRECT:不經過 page cache(要對齊;tmpfs 沒有)" },
	{ { "duration", required_argument, NULL, OPT_DURATION }, "秒", M_FILE,
	  "執行多久(預設 10);0 = 整個範圍剛好一輪(每個區塊一次)後結束" },
	{ { "size", required_argument, NULL, OPT_SIZE }, "位元組", M_FILE,
	  "讀寫的範圍 [0, size);讀取預設整個檔案,建立新檔時是新檔大小(預設 64M)" },
	{ { "overwrite", no_argument, NULL, OPT_OVERWRITE }, NULL, M_FILE,
	  "允許寫入模式寫進已存在的檔案或裝置:會毀掉它原有的內容(使用中的裝置一律拒絕:已掛載、分割區已掛載、swap / RAID / LVM)" },
	{ { "verify", no_argument, NULL, OPT_VERIFY }, NULL, M_FILE,
	  "寫入可核對的內容(每 8 位元組由位移決定);讀取時逐位元組核對,不符就以 1 結束" },
	{ { "taskrun", required_argument, NULL, OPT_TASKRUN }, "模式", M_BOTH, "defer(預設)| coop | none;核心不支援時自動退一步" },
	{ { "sqpoll", no_argument, NULL, 'P' }, NULL, M_BOTH, "SQPOLL:核心執行緒輪詢 SQ,提交不必 io_uring_enter" },
	{ { "sqpoll-cpu", required_argument, NULL, OPT_SQPOLL_CPU }, "CPU", M_BOTH, "把 SQPOLL 執行緒釘在這顆 CPU" },
	{ { "quiet", no_argument, NULL, 'Q' }, NULL, M_BOTH, "不印每秒統計" },
	{ { "help", no_argument, NULL, 'h' }, NULL, M_BOTH, "顯示這份說明" },
	{ { NULL, 0, NULL, 0 }, NULL, 0, NULL },
};

/* 字元在終端機上佔兩格嗎:CJK、諺文、全形符號 */
static bool wide_char(unsigned cp)
{
	return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
	       (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
	       (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x20000 && cp <= 0x3fffd);
}

/* UTF-8 字串的顯示寬度:中文一個字 3 個位元組、佔 2 格,所以 printf 的 %-28s(數位元組)會對不齊 */
static int display_width(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	int w = 0;

	while (*p) {
		unsigned cp = *p, extra = cp >= 0xf0 ? 3 : cp >= 0xe0 ? 2 : cp >= 0xc0 ? 1 : 0;
		cp &= extra ? 0x3fu >> extra : 0x7fu;
		p++;
		for (; extra && (*p & 0xc0) == 0x80; extra--)
			cp = cp << 6 | (*p++ & 0x3fu);
		w += wide_char(cp) ? 2 : 1;
	}
	return w;
}

static void usage_section(const char *title, unsigned mode)
{
	printf("\n%s\n", title);
	for (const struct opt_help *o = options; o->opt.name; o++) {
		char left[64];
		if (o->mode != mode)
			continue;
		if (o->opt.val < 256)
			snprintf(left, sizeof(left), "-%c, --%s%s%s", o->opt.val, o->opt.name, o->arg ? " " : "",
				 o->arg ? o->arg : "");
		else
			snprintf(left, sizeof(left), "    --%s%s%s", o->opt.name, o->arg ? " " : "", o->arg ? o->arg : "");
		int w = display_width(left);
		printf("  %s%*s %s\n", left, w < 26 ? 26 - w : 0, "", o->help);
	}
}

static void usage(const char *prog)
{
	printf("用法:%s [選項] [埠]                    echo 伺服器(埠預設 12345)\n"
	       "      %s --file 路徑 [--rw 方式] [--bs 位元組] [--qd N] [--direct] [--duration 秒]\n"
	       "                                            檔案 I/O(讀寫同一個檔案,量 IOPS、延遲、每個 I/O 的 CPU)\n"
	       "需要 Linux 6.0 以上,不需要 root。\n",
	       prog, prog);
	usage_section("echo 伺服器的選項:", M_NET);
	usage_section("檔案 I/O 模式的選項:", M_FILE);
	usage_section("共用的選項:", M_BOTH);
	printf("\n記憶體上限與公平規則(一個對端能讓伺服器配置的,全部有上限):\n"
	       "  記憶體 = 接收 --buffers × --buffer-size + 待送池 --max-output + 每條連線約 620 位元組\n"
	       "  (預設 16 MiB + 64 MiB)。一條連線的待送到 --conn-buffer 就停止讀取(取消 recv);\n"
	       "  一條連線最多持有 %u × --conn-buffer(每次 arm multishot recv 的總量上限,核心保證)。\n"
	       "  待送池用完時關閉送出停住最久的連線(它的對端不讀);持續在讀的連線不會被關,只要還有停住的。\n"
	       "  連線數 --max-conns:滿了時關閉閒置最久的那條讓新連線進來(至少閒置 1 秒;都在忙就拒絕新連線)。\n"
	       "  慢速攻擊:--idle-timeout 秒沒有任何位元組進出、或這段時間收送不到 --min-progress 位元組就關閉。\n"
	       "位元組數可寫 K、M、G 字尾。試試看:echo \"測試訊息\" | nc -q1 localhost 12345\n"
	       "檔案:%s --file /var/tmp/t --rw write --size 1G --duration 0 --direct;"
	       "%s --file /var/tmp/t --direct --qd 32\n",
	       RECV_ARM_FACTOR, prog, prog);
}

static void usage_error(const char *fmt, const char *arg)
{
	fprintf(stderr, "錯誤:");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "(--help 看說明)\n");
	exit(EXIT_USAGE);
}

/* 十進位整數,可加 K / M / G 字尾(1024 進位) */
static unsigned long long parse_num(const char *s, const char *name, unsigned long long min, unsigned long long max)
{
	char *end;
	unsigned long long v;
	unsigned shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (end != s && end[0] && !end[1])
		shift = strchr("Kk", *end) ? 10 : strchr("Mm", *end) ? 20 : strchr("Gg", *end) ? 30 : 0;
	if (shift && v <= max >> shift)
		v <<= shift, end++;
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "錯誤:%s 必須是 %llu 到 %llu 之間的整數,得到「%s」(--help 看說明)\n", name, min, max, s);
		exit(EXIT_USAGE);
	}
	return v;
}

static bool is_pow2(unsigned long long v)
{
	return v && !(v & (v - 1));
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	struct option longopts[sizeof(options) / sizeof(options[0])];
	char shortopts[64] = ":"; /* 開頭的「:」:缺參數時 getopt 回 ':',不是 '?' */
	size_t n = 1;
	const char *net_opt = NULL, *file_opt = NULL; /* 用到的第一個只屬於某個模式的選項 */
	bool per_addr_set = false;

	for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
		longopts[i] = options[i].opt;
		if (options[i].opt.name && options[i].opt.val < 256) {
			shortopts[n++] = (char)options[i].opt.val;
			if (options[i].opt.has_arg == required_argument)
				shortopts[n++] = ':';
		}
	}
	shortopts[n] = '\0';

	*cfg = (struct config){
		.bind_addr = NULL, .port = 12345, .queue_depth = 1024, .nbufs = 4096, .buf_size = 4096,
		.conn_buffer = 64 << 10, .max_output = 64 << 20, .max_conns = 16384, .fixed_files = true,
		.sqpoll_cpu = -1, .zc_threshold = 16 << 10, .taskrun = "defer", .wait_nr = 1, .wait_usec = 50,
		.drain_timeout = 5, .idle_timeout = 60, .min_progress = 1024, .bundle = -1,
		.rw = RW_RANDREAD, .bs = 4096, .qd = 32, .duration = 10,
	};
	opterr = 0;
	for (;;) {
		int idx = -1;
		int c = getopt_long(argc, argv, shortopts, longopts, &idx);
		if (c == -1)
			break;
		for (const struct opt_help *o = options; o->opt.name; o++)
			if (o->opt.val == c && o->mode != M_BOTH) {
				const char **first = o->mode == M_NET ? &net_opt : &file_opt;
				if (!*first)
					*first = o->opt.name;
			}
		switch (c) {
		case 'a': {
			struct in6_addr a6;
			struct in_addr a4;
			if (inet_pton(AF_INET, optarg, &a4) != 1 && inet_pton(AF_INET6, optarg, &a6) != 1)
				usage_error("--bind 需要 IPv4 或 IPv6 位址,得到「%s」", optarg);
			cfg->bind_addr = optarg;
			break;
		}
		case 'c':
			cfg->max_conns = (unsigned)parse_num(optarg, "--max-conns", 1, 1 << 20);
			break;
		case OPT_CONN_BUFFER:
			cfg->conn_buffer = parse_num(optarg, "--conn-buffer", 4096, 64ull << 20);
			break;
		case OPT_MAX_OUTPUT:
			cfg->max_output = parse_num(optarg, "--max-output", CHUNK_SIZE * 4, 16ull << 30);
			break;
		case 'n':
			cfg->nbufs = (unsigned)parse_num(optarg, "--buffers", 16, 32768);
			if (!is_pow2(cfg->nbufs))
				usage_error("--buffers 必須是 2 的次方,得到「%s」", optarg);
			break;
		case 's':
			cfg->buf_size = (unsigned)parse_num(optarg, "--buffer-size", 64, 65536);
			break;
		case 'q':
			cfg->queue_depth = (unsigned)parse_num(optarg, "--queue-depth", 8, 32768);
			if (!is_pow2(cfg->queue_depth))
				usage_error("--queue-depth 必須是 2 的次方,得到「%s」", optarg);
			break;
		case OPT_NO_FIXED:
			cfg->fixed_files = false;
			break;
		case 'P':
			cfg->sqpoll = true;
			break;
		case OPT_SQPOLL_CPU:
			cfg->sqpoll_cpu = (int)parse_num(optarg, "--sqpoll-cpu", 0, 4095);
			break;
		case 'z':
			cfg->zerocopy = true;
			break;
		case OPT_ZC_THRESHOLD:
			cfg->zc_threshold = parse_num(optarg, "--zc-threshold", 1, CHUNK_SIZE);
			break;
		case OPT_BUNDLE:
			cfg->bundle = 1;
			break;
		case OPT_NO_BUNDLE:
			cfg->bundle = 0;
			break;
		case OPT_RECV:
			if (strcmp(optarg, "multishot") && strcmp(optarg, "single"))
				usage_error("--recv 只能是 multishot 或 single,得到「%s」", optarg);
			cfg->single_recv = !strcmp(optarg, "single");
			break;
		case OPT_TASKRUN:
			if (strcmp(optarg, "defer") && strcmp(optarg, "coop") && strcmp(optarg, "none"))
				usage_error("--taskrun 只能是 defer、coop 或 none,得到「%s」", optarg);
			cfg->taskrun = optarg;
			break;
		case OPT_WAIT_NR:
			cfg->wait_nr = (unsigned)parse_num(optarg, "--wait-nr", 1, 4096);
			break;
		case OPT_WAIT_USEC:
			cfg->wait_usec = (unsigned)parse_num(optarg, "--wait-usec", 1, 1000000);
			break;
		case OPT_IDLE:
			cfg->idle_timeout = (unsigned)parse_num(optarg, "--idle-timeout", 0, 86400);
			break;
		case OPT_MIN_PROGRESS:
			cfg->min_progress = parse_num(optarg, "--min-progress", 0, 1ull << 30);
			break;
		case OPT_MAX_PER_ADDR:
			cfg->max_per_addr = (unsigned)parse_num(optarg, "--max-per-addr", 0, 1 << 20);
			per_addr_set = true;
			break;
		case OPT_SOCK_BUFFER:
			cfg->sock_buffer = (unsigned)parse_num(optarg, "--sock-buffer", 0, 64 << 20);
			break;
		case OPT_DRAIN:
			cfg->drain_timeout = (double)parse_num(optarg, "--drain-timeout", 0, 3600);
			break;
		case OPT_FILE:
			if (!*optarg)
				usage_error("%s", "--file 需要路徑");
			cfg->file_path = optarg;
			break;
		case OPT_RW: {
			unsigned i = 0;
			while (i < 4 && strcmp(optarg, rw_names[i]))
				i++;
			if (i == 4)
				usage_error("--rw 只能是 randread、read、randwrite 或 write,得到「%s」", optarg);
			cfg->rw = (enum file_rw)i;
			break;
		}
		case OPT_BS:
			cfg->bs = (unsigned)parse_num(optarg, "--bs", 512, 8 << 20);
			if (cfg->bs % 512)
				usage_error("--bs 必須是 512 的倍數,得到「%s」", optarg);
			break;
		case OPT_QD:
			cfg->qd = (unsigned)parse_num(optarg, "--qd", 1, 4096);
			break;
		case OPT_SUBMIT_BATCH:
			cfg->submit_batch = (unsigned)parse_num(optarg, "--submit-batch", 1, 4096);
			break;
		case OPT_DIRECT:
			cfg->direct = true;
			break;
		case OPT_DURATION:
			cfg->duration = (double)parse_num(optarg, "--duration", 0, 86400);
			break;
		case OPT_SIZE:
			cfg->file_size = parse_num(optarg, "--size", 512, 1ull << 50);
			break;
		case OPT_OVERWRITE:
			cfg->overwrite = true;
			break;
		case OPT_VERIFY:
			cfg->verify = true;
			break;
		case 'Q':
			cfg->quiet = true;
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
	if (cfg->file_path) {
		if (net_opt)
			usage_error("--%s 只用於 echo 伺服器,不能搭配 --file", net_opt);
		if (optind < argc)
			usage_error("檔案模式不需要埠,多餘的參數「%s」", argv[optind]);
		if ((unsigned long long)cfg->qd * cfg->bs > (1ull << 30))
			usage_error("%s", "--qd × --bs 不能超過 1 GiB(每個在飛的 I/O 一個 fixed buffer)");
		if (cfg->file_size && cfg->file_size < cfg->bs)
			usage_error("%s", "--size 不能小於 --bs");
		if (cfg->submit_batch > cfg->qd)
			usage_error("%s", "--submit-batch 不能大於 --qd");
		/* 沒給時:O_DIRECT 一個就送,經過 page cache 整批(為什麼見第 5 節開頭) */
		if (!cfg->submit_batch)
			cfg->submit_batch = cfg->direct ? 1 : cfg->qd;
	} else if (file_opt) {
		usage_error("--%s 只用於檔案模式(要搭配 --file 路徑)", file_opt);
	}
	if (optind < argc)
		cfg->port = (int)parse_num(argv[optind++], "埠", 1, 65535);
	if (optind < argc)
		usage_error("多餘的參數「%s」", argv[optind]);
	if ((unsigned long long)cfg->nbufs * cfg->buf_size > (1ull << 31))
		usage_error("%s", "--buffers × --buffer-size 不能超過 2 GiB");
	if (cfg->sqpoll_cpu >= 0 && !cfg->sqpoll)
		usage_error("%s", "--sqpoll-cpu 要搭配 --sqpoll");
	if (cfg->max_output < cfg->conn_buffer)
		usage_error("%s", "--max-output 不能小於 --conn-buffer");
	if (!per_addr_set)
		cfg->max_per_addr = cfg->max_conns > 1 ? cfg->max_conns / 2 : 1;
}

/* ======================================================================
 * 7. main
 * ====================================================================== */

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

int main(int argc, char **argv)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct sigaction sa = { .sa_handler = on_signal };
	int rc = 1;

	if (!c) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		return 1;
	}
	c->listen_fd = -1;
	c->ring.ring_fd = -1;
	parse_args(argc, argv, &c->cfg);

	/* 不設 SA_RESTART:訊號讓 io_uring_enter 以 EINTR 返回,迴圈才能檢查 stop_flag */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* 開檔上限拉到硬上限(連線表與固定檔案表的大小都由它決定) */
	struct rlimit rl;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (c->cfg.file_path) { /* 檔案 I/O 模式 */
		rc = file_main(c);
		free(c);
		return rc;
	}
	if (setup_ring(c) || setup_buffers(c) || setup_pool(c) || setup_listener(c) || setup_conn_table(c))
		goto out;
	print_features(c);
	c->accepting = true;
	clock_gettime(CLOCK_MONOTONIC, &c->start);
	event_loop(c);
	drain(c);
	print_summary(c);
	rc = 0;
out:
	cleanup(c);
	free(c);
	return rc;
}
