// SPDX-License-Identifier: MIT
/*
 * rdma_communication.c — RDMA 客戶端 / 伺服器示範(librdmacm + libibverbs)
 *
 * 示範什麼:
 *   以 rdma_cm 建立 RC(Reliable Connection)連線,配置 PD、CQ、兩個 MR 與 QP,然後:
 *     - 雙邊(two-sided)SEND / RECV:客戶端送出問候,伺服器收到後回覆;
 *     - 單邊(one-sided)RDMA WRITE / READ:客戶端直接寫入伺服器的「視窗」記憶體再讀回來,
 *       伺服器的 CPU 完全不參與資料搬移(它在睡覺,伺服器每秒統計的 CPU % 看得到);
 *     - 量測:延遲 ping-pong(最小 / p50 / p99 / 最大 / 平均)與頻寬(MB/s、Gb/s、次/秒),
 *       兩端的 CPU 時間都報告 —— RDMA 省下的正是被動端的 CPU。
 *   伺服器同時服務多個客戶端,對任何客戶端都有資源上限與期限(見下面「對方能做什麼」)。
 *
 * 閱讀順序:
 *   第一部分「一條連線的故事」:conn_setup()(PD → CQ → 兩個 MR → QP → 預先 post RECV)、
 *     run_client()(解析位址 → 路由 → 註冊記憶體與 QP → 連線 → SEND → WRITE → READ → 中斷)、
 *     run_server() / serve_one()(伺服器那一側:上限檢查 → 接受 → 服務 → 中斷)。
 *   第二部分「資料路徑」:post_op()、poll_cq()、wait_until()(每個等待都有期限)、keepalive。
 *   第三部分「量測迴圈」:延遲與頻寬(客戶端與伺服器兩側)。
 *   第四部分「統計」;第五部分「選項、說明與環境診斷」;最後是 main()。
 *
 * 一次 RDMA WRITE 走的路(單邊:伺服器程式不參與,它的 CPU 在睡覺):
 *
 *   客戶端程式            客戶端網卡                  伺服器網卡                 伺服器記憶體
 *   ibv_post_send ──WQE──▶ 讀本地 MR(lkey)──封包──▶ 查 rkey:這條 QP 的 PD?  ──DMA──▶ 視窗[偏移]
 *   (WRITE, rkey, 偏移)                               有 REMOTE_WRITE?偏移在視窗內?
 *   ibv_poll_cq ◀──CQE──── 收到 ACK ◀───────ACK─────  (任何一項不符:NAK,對方得到
 *                                                       remote access error,連線關閉)
 *
 * 需要:
 *   rdma-core(libibverbs、librdmacm;Debian 套件 libibverbs-dev librdmacm-dev
 *   ibverbs-providers)與一個 RDMA 裝置:RDMA 網卡(InfiniBand / RoCE),或核心的
 *   Soft-RoCE:sudo rdma link add rxe0 type rxe netdev eth0(需要 rdma_rxe 模組)。
 *   核心完全沒有 RDMA 時,用套件的 VM:make rdma-vm。註冊記憶體會鎖定分頁:非 root
 *   使用者需要足夠的 ulimit -l。iWARP 沒有測試過也不保證:iWARP 的 RDMA READ 目的地
 *   必須開放 REMOTE_WRITE(本程式的 READ 目的地在客戶端視窗裡,有這個權限),
 *   而 --event 的 WRITE 延遲測試用 WRITE_WITH_IMM(iWARP 沒有 immediate data);
 *   其他流程只用 SEND 酬載當控制訊息,不依賴 immediate data。
 *
 * 用法:
 *   ./rdma_communication server [--port 7471] [--bind 位址] [--max-clients 16] [--max-mem 256] [--once]
 *   ./rdma_communication client 伺服器IP [--test demo|lat|bw] [--op send|write|read] [--size 位元組]
 *                                 [--iters 次數 | --duration 秒] [--depth N] [--event] [--tos N]
 *
 * 一個指令試試看(在有 rxe0 的機器或 VM 裡;IP 是 rxe0 所在介面的位址,不能用 127.0.0.1):
 *   ./rdma_communication server --once & sleep 1; ./rdma_communication client 10.0.2.15
 *
 * 伺服器的結構:一條連線一個執行緒。
 *   主執行緒只處理 rdma_cm 的連線要求(檢查上限,拒絕或接受)與每秒統計;每條連線有自己的
 *   執行緒、event channel(rdma_migrate_id 把 cm_id 搬過去)、PD、CQ、MR 與 QP。這樣一段連線
 *   的程式可以像客戶端一樣由上往下讀,一個停住的客戶端只卡住自己的執行緒,而執行緒的 CPU 時間
 *   (CLOCK_THREAD_CPUTIME_ID)正好是「伺服器為這個客戶端花了多少 CPU」。單一 event loop 能撐
 *   更多連線,但每種測試都得拆成狀態機;這裡要教的是 verbs,所以選執行緒,連線數以
 *   --max-clients 限制。
 *
 * 對方(任何連得到這個埠的程式)能做什麼、不能做什麼:
 *   - 連線要求裡的 hello 先檢查:大小、深度、次數有上限;這個要求「精確」需要多少記憶體
 *     (plan_layout(),與實際註冊的相同)加上現有連線的用量超過 --max-mem(預設 256 MiB)、
 *     或連線數達到 --max-clients(預設 16,含握手中的)就拒絕,還沒配置任何東西;
 *     拒絕的 private data 帶原因碼(忙碌 / 記憶體不足 / 參數不合理;伺服器自己配置失敗時是
 *     「伺服器端錯誤」與 errno,客戶端不會誤以為沒有伺服器)。記憶體以 mmap 取得
 *     (核心給的是清零的分頁),深度不超過裝置的 ibv_query_device 上限。
 *   - 連線要求裡的傳輸重試與 RNR 重試次數是「伺服器的」QP 要用的(IB CM 的規定,rdma_accept
 *     的 retry_count 會被忽略):要求 7(RNR 的 7 是無限,Soft-RoCE 的傳輸重試也是)的連線被拒絕,
 *     否則伺服器的送出可能永遠卡在重試裡,keepalive 也發現不了對方消失。
 *   - CPU:同時最多「線上 CPU 數 − 1」(至少 1)條連線忙碌輪詢,其他的睡在 completion channel 上;
 *     再多慢慢送訊息的客戶端也只能讓伺服器燒掉這麼多顆 CPU(見 spin_allowed())。
 *   - RDMA 只碰得到自己那條連線的「視窗」:視窗是獨立的 MR,以 iova 0 註冊(對方只拿到
 *     長度與 rkey,看不到任何位址),權限剛好是測試需要的:WRITE 測試只有 REMOTE_WRITE、
 *     READ 測試只有 REMOTE_READ、demo 兩者都有、SEND 測試沒有視窗。送出區與接收區在另一個
 *     只有 LOCAL_WRITE 的 MR,對方就算知道它的 key 也存取不了;別的連線的 MR 在別的 PD,
 *     它們的 rkey 對這條 QP 無效。越界的存取讓對方得到 remote access error,它的連線被關閉。
 *   - 每個等待都有期限:對方 6 秒沒有任何動靜(程式停住、被 SIGSTOP)就放棄那條連線並釋放
 *     資源;伺服器等待時每秒送一個 0 位元組的 RDMA WRITE 當 keepalive,對方主機或網路消失時
 *     約 2 秒內得到「重試次數用完」。注意 keepalive 是對方的「網卡」回答的(Soft-RoCE 是對方的
 *     核心),證明的是主機與網路還在,不是對方程式還在跑 —— 所以另外需要上面的活動期限。
 *   - 不守規矩的訊息(不認得的種類、比接收緩衝區長、不等 credit 就狂送)只會讓自己的連線
 *     被關閉;對方送來的文字只印出可列印的字元(不會有終端機控制碼)。
 *   - 對方不能:讓伺服器配置超過上限的記憶體、讀寫視窗以外的記憶體、卡住別的客戶端。
 *
 * 線路協定(全部是網路位元組序;版本 2):
 *   1. 客戶端 rdma_connect() 的 private data 是 struct hello:magic "KBSR"、版本、測試種類、
 *      操作、use_imm(1 = WRITE 延遲測試用 WRITE_WITH_IMM 通知對方)、訊息大小、深度、
 *      次數或秒數,以及客戶端視窗的長度與 rkey(視窗從偏移 0 開始,不傳位址)。
 *   2. 伺服器在 CONNECT_REQUEST 檢查 hello、連線要求的重試次數與上限;不接受就 rdma_reject(),
 *      private data 是 struct refusal(原因碼與數字)。接受就依 hello 配置、註冊,rdma_accept() 的 private
 *      data 是 struct welcome:同意的深度、伺服器預先 post 的 RECV 數(客戶端的 credit)、
 *      伺服器視窗的長度與 rkey。客戶端在 ESTABLISHED 事件讀出它。
 *   3. 之後每一則 SEND 的第一個位元組是種類:'D' 資料、'T' 文字(demo),以及 24 位元組的
 *      控制訊息 struct ctrl:'L' 客戶端進度(還活著)、'E' 客戶端結束(附操作數與 CPU)、
 *      'A' 伺服器確認(附驗證結果與伺服器 CPU)、'C' 伺服器的 credit(已重新 post 的 RECV
 *      總數)。客戶端送出的 SEND 總數永遠不超過「伺服器的 RECV 數 + 對方回報的 credit」,
 *      所以不會發生 RNR(接收端沒有緩衝區);萬一發生,有限的 RNR 重試會讓連線以錯誤結束,
 *      不會無聲地卡住。RDMA WRITE / READ 直接存取對方視窗的「偏移」(用對方的 rkey)。
 *   4. WRITE 延遲測試:WRITE 的最後一個位元組是序號,接收端輪詢那個位元組(網卡依位址
 *      遞增的順序寫入,最後一個位元組到了代表整則到了;perftest 也這樣做);use_imm 時改用
 *      WRITE_WITH_IMM,接收端睡在 CQ 上等 CQE。
 *
 * 統計數字的意義:
 *   延遲:send 與 write 是 ping-pong,報告「單程 = 來回 / 2」(同 perftest 的 ib_send_lat /
 *   ib_write_lat,p50 相當於 t_typical);read 報告一次 READ 的完整來回(同 ib_read_lat)。
 *   頻寬:客戶端維持 --depth 個未完成的工作請求;MB/s 的 MB 是 2^20 位元組(同 perftest)。
 *   CPU:客戶端是整個行程在量測期間的 user+system 時間;伺服器是服務那個客戶端的執行緒的
 *   CPU 時間(由 ACK 告訴客戶端)。伺服器每秒印一行:連線數、每秒操作數、MB/s、CPU %。
 *   單邊操作伺服器看不到,那一行的數字是客戶端每秒用 'L' 訊息回報的。Soft-RoCE 的「網卡」
 *   是核心的 softirq,不算在兩個程式的 CPU 裡;真的網卡上這部分由硬體做。
 *   結束時印一行機器可讀的 SUMMARY key=value…(伺服器每個客戶端另有一行 CLIENT …)。
 */
#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <infiniband/verbs.h>
#include <rdma/rdma_cma.h>

#define DEFAULT_PORT 7471
#define CONNECT_TIMEOUT_MS 5000 /* 連線(含握手)最多等這麼久 */
#define RESOLVE_TIMEOUT_MS 2000
#define PEER_IDLE_MS 6000 /* 對方這麼久沒有動靜就放棄這條連線 */
#define KEEPALIVE_MS 1000 /* 伺服器等待時多久送一次 keepalive(0 位元組 RDMA WRITE) */
#define ALIVE_MS 1000	  /* 客戶端量測時多久回報一次進度('L' 訊息) */
#define SPIN_MS 20	  /* 對方這麼久沒動靜就不再忙碌輪詢,改睡在 completion channel 上 */
#define ACK_TIMEOUT 16	  /* 本地 ACK 逾時 4.096 µs × 2^16 ≈ 268 ms;重試 6 次 ≈ 2 秒 */
#define RETRY_COUNT 6	  /* 傳輸重試次數:規格裡 7 只是 7 次,但 Soft-RoCE(rxe)把 7 當成無限 */
#define RNR_RETRY 6	  /* RNR 重試次數:7 代表無限,這裡刻意有限 */
#define MIN_RNR_TIMER 20  /* 接收端回 RNR NAK 時要對方等 10.24 ms(IB 規格的編碼 20) */
#define HELLO_MAGIC 0x4b425352u /* "KBSR" */
#define PROTO_VERSION 2
#define MAX_SIZE (64u << 20)
#define MAX_DEPTH 1024
#define MAX_ITERS 100000000u
#define MAX_DURATION 86400
#define MAX_SAMPLES (1u << 20)		/* 8 MiB 的延遲樣本 */
#define CLIENT_MEM_LIMIT (1ull << 30)	/* 客戶端自己最多註冊這麼多 */
#define DEFAULT_MAX_MEM_MIB 256
#define DEFAULT_MAX_CLIENTS 16
#define CTRL_RECVS 8  /* 只收控制訊息的一側預先 post 的 RECV 數 */
#define CTRL_EXTRA 4  /* 收資料的一側另外為控制訊息多留的 RECV 數 */
#define CTRL_RING 16  /* 控制訊息的送出緩衝區數 */
#define CTRL_SLOT 64  /* 一個控制訊息緩衝區的位元組數 */
#define DEMO_SLOT 256 /* demo 的文字訊息緩衝區 */
#define WRID_KEEPALIVE (1ull << 63) /* wr_id 的旗標:keepalive 的 WRITE */
#define WRID_RECV (1ull << 62)	    /* wr_id 的旗標:RECV(錯誤的 CQE 沒有可信的 opcode) */
#define WHY_LEN 512 /* 失敗原因的長度上限(含提示的中文句子;太短會把提示切在半個字上) */

/* ---- 線路協定(見檔頭;全部是網路位元組序) ------------------------------------ */

struct hello { /* 客戶端 -> 伺服器:rdma_connect 的 private data(RC 最多 56 位元組) */
	uint32_t magic;
	uint8_t version, test, op, use_imm;
	uint32_t size, depth, iters, duration;
	uint32_t win_len, win_rkey; /* 客戶端視窗:偏移 0 起算的長度與 rkey */
} __attribute__((packed));

struct welcome { /* 伺服器 -> 客戶端:rdma_accept 的 private data */
	uint32_t magic;
	uint8_t version, pad[3];
	uint32_t depth;		    /* 同意的深度(可能被裝置上限壓低) */
	uint32_t recv_credits;	    /* 伺服器預先 post 的 RECV 數 */
	uint32_t win_len, win_rkey; /* 伺服器視窗;長度 0 = 這個測試沒有視窗 */
} __attribute__((packed));

enum refuse_reason { REFUSE_BUSY = 1, REFUSE_MEM = 2, REFUSE_BAD = 3, REFUSE_SERVER = 4 };
enum bad_detail { BAD_PROTO = 1, BAD_VERSION, BAD_KIND, BAD_SIZE, BAD_DEPTH, BAD_COUNT, BAD_WINDOW, BAD_RETRY };

struct refusal { /* 伺服器拒絕時 rdma_reject 的 private data */
	uint32_t magic;
	uint8_t reason, detail, pad[2]; /* detail:參數不合理時是 enum bad_detail,伺服器端錯誤時是 errno */
	uint32_t limit, need, used;	/* 忙碌:客戶端數;記憶體不足:KiB */
} __attribute__((packed));

enum msg_type {
	MSG_DATA = 'D',	  /* 資料(SEND 測試):只有第一個位元組有意義 */
	MSG_TEXT = 'T',	  /* demo 的文字 */
	MSG_ALIVE = 'L',  /* 客戶端:還活著;a = 已完成操作數,b = 位元組數 */
	MSG_DONE = 'E',	  /* 客戶端:量測結束;a = 操作數,b = 客戶端 CPU ns */
	MSG_ACK = 'A',	  /* 伺服器:flag = 驗證正確;a = 伺服器 CPU ns,b = 伺服器看到的操作數 */
	MSG_CREDIT = 'C', /* 伺服器:a = 已重新 post 的 RECV 總數 */
};

struct ctrl {
	uint8_t type, flag, pad[6];
	uint64_t a, b;
} __attribute__((packed));

static const char GREETING[] = "你好,RDMA 伺服器!這是客戶端用雙邊 SEND 送來的問候。";
static const char REPLY[] = "你好,客戶端!伺服器收到你的問候了,這是 SEND 回覆。";
static const char WRITE_TEXT[] =
	"這段文字由客戶端以 RDMA WRITE 直接寫進伺服器的記憶體,伺服器的 CPU 沒有參與搬移。";

/* ---- 設定與執行期狀態 -------------------------------------------------------- */

enum role { ROLE_SERVER, ROLE_CLIENT };
enum test { TEST_DEMO, TEST_LAT, TEST_BW };
enum op { OP_SEND, OP_WRITE, OP_READ };

static const char *const test_names[] = { "demo", "lat", "bw" };
static const char *const op_names[] = { "send", "write", "read" };

struct config { /* 使用者要求的(parse_args 填入,之後唯讀) */
	enum role role;
	const char *server, *bind_addr, *device;
	int gid_index, tos; /* -1 = 不指定 */
	int port;
	enum test test;
	enum op op;
	uint32_t size, iters, duration, depth;
	bool event, once;
	uint32_t max_clients;
	uint64_t max_mem;
};

/*
 * 一側的記憶體配置:兩端用同一個函式依 hello 計算(plan_layout),伺服器在接受之前
 * 就用它檢查上限,所以「檢查的」與「註冊的」永遠是同一個數字。
 *   本地 MR:[送出區 nsend × slot | 控制訊息 CTRL_RING × CTRL_SLOT | 接收區 nrecv × rslot]
 *   視窗 MR:nwin × slot(iova 0;對方以偏移存取)
 */
struct layout {
	uint32_t slot;	/* 一個資料 slot(訊息大小進位到 64) */
	uint32_t nsend; /* 送出區的 slot 數 */
	uint32_t nrecv; /* 預先 post 的 RECV 數 */
	uint32_t rslot; /* 每個 RECV 緩衝區:所有 RECV 共用一個佇列,都要放得下最大的訊息 */
	uint32_t nwin;	/* 視窗的 slot 數 */
	uint32_t sq;	/* 送出佇列深度 */
	int win_access; /* 視窗 MR 的遠端權限 */
	size_t ctrl_off, recv_off, local_len; /* 本地 MR 內的偏移與總長(整頁) */
	size_t win_bytes, win_map;	      /* 視窗 MR 的長度(對方看得到的)與 mmap 長度 */
};

struct server;

/* 一條連線的全部狀態(客戶端一份;伺服器每個客戶端一份,由它的執行緒獨佔) */
struct conn {
	const struct config *cfg;
	struct server *srv; /* 伺服器的連線才有 */
	enum role role;
	uint64_t num; /* 伺服器:客戶端編號 */
	char tag[24]; /* 伺服器印出的每一行開頭:"[#N] " */
	char peer[INET6_ADDRSTRLEN];
	/* rdma_cm 與 verbs 資源 */
	struct rdma_event_channel *ec;
	struct rdma_cm_id *id;
	struct ibv_pd *pd;
	struct ibv_comp_channel *cc;
	struct ibv_cq *cq;
	struct ibv_mr *local_mr, *win_mr;
	char *local, *win;
	struct layout lay;
	bool qp_created, connected, armed, spinning; /* spinning:伺服器上持有一個忙碌輪詢名額 */
	uint32_t max_inline;
	unsigned cq_unacked;
	/* 這次工作階段(客戶端是自己的設定,伺服器取自 hello) */
	enum test test;
	enum op op;
	uint32_t size, depth, iters, duration;
	bool use_imm, event;
	/* 對方 */
	uint32_t peer_win, peer_rkey, peer_credits;
	/* 送出佇列:wr_id 是 post 的序號,完成是依序的 */
	uint64_t posted, completed;
	uint32_t sig_every;
	uint64_t ctrl_wrid[CTRL_RING];
	uint32_t ctrl_next;
	uint64_t sends, peer_reposted; /* credit:用掉對方 RECV 的操作數、對方回報已重新 post 的 RECV 數 */
	uint64_t *data_wrid;	       /* 頻寬測試:資料工作請求的 wr_id(環狀) */
	uint32_t data_ring;
	uint64_t data_posted, data_done;
	/* 接收 */
	uint64_t reposted, credit_sent;
	uint64_t recvs, recv_bytes; /* 資料訊息(含 WRITE_WITH_IMM) */
	char text[DEMO_SLOT];
	uint32_t text_len;
	bool got_text, got_done, got_ack;
	struct ctrl done, ack;
	/* 活性 */
	uint64_t last_peer_ns, next_keepalive_ns, next_cm_ns;
	uint64_t keepalives;
	bool failed, peer_gone, violation; /* violation:對方違反協定(CLIENT 行的 reason=protocol) */
	int err;			    /* 失敗時的 errno(伺服器在拒絕裡告訴客戶端) */
	char why[WHY_LEN];
	/* 伺服器:給主執行緒每秒統計(以 __atomic 讀寫) */
	uint64_t st_ops, st_bytes;
	uint64_t cpu0, need;
	pthread_t thread;
	int finished;
	struct conn *next;
};

/* 伺服器的共用狀態:連線串列只由主執行緒改;計數與記憶體用量以 lock 保護 */
struct server {
	const struct config *cfg;
	struct rdma_event_channel *ec;
	struct rdma_cm_id *listen_id;
	pthread_mutex_t lock;
	struct conn *conns;
	uint32_t active, peak_active;
	int spin_free, spin_max; /* 忙碌輪詢的名額(見 spin_allowed();spin_free 以 __atomic 讀寫) */
	uint64_t mem_used, mem_peak;
	uint64_t requests, ok, lost, rej_busy, rej_mem, rej_bad;
	uint64_t retired_ops, retired_bytes;
};

/* 客戶端的延遲樣本:最多 MAX_SAMPLES 個(超過時 reservoir sampling 均勻抽樣),極值與總和另計 */
struct lat_stats {
	uint64_t *s, cap, min, max;
	double sum;
};

enum wait_result {
	WAIT_OK,      /* 條件成立 */
	WAIT_FAILED,  /* CQE 錯誤(例如 keepalive 重試用完)或對方違反協定;c->why 有說明 */
	WAIT_GONE,    /* 對方中斷連線(DISCONNECTED) */
	WAIT_IDLE,    /* 對方 PEER_IDLE_MS 沒有任何動靜 */
	WAIT_STOPPED, /* 收到 SIGINT / SIGTERM */
};

/* 等待時怎麼醒來 */
enum wake {
	WAKE_CQE_SPIN,	/* 條件由 CQE 推動:對方活躍時忙碌輪詢 CQ,閒下來就睡(--event:一律睡) */
	WAKE_CQE_SLEEP, /* 條件由 CQE 推動,但這段時間本來就沒事(對方在做單邊操作):一律睡 */
	WAKE_MEMORY,	/* 條件是對方 RDMA WRITE 進來的記憶體:沒有 CQE 可等,只能輪詢記憶體 */
};

typedef bool (*cond_fn)(struct conn *c, uint64_t arg);

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* 後面才定義的函式:小工具、選項與診斷放在檔案後段 */
static uint64_t now_ns(void);
static uint64_t thread_cpu_ns(void);
static uint64_t process_cpu_ns(void);
static void *map_zeroed(size_t len);
static int conn_err(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void conn_note(struct conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void plan_layout(struct layout *l, enum role who, enum test t, enum op op, uint32_t size,
			uint32_t depth);
static uint32_t clamp_depth(struct ibv_context *dev, uint32_t depth);
static void reg_mr_hint(struct conn *c, size_t len, int err);
static void print_memory(struct conn *c);
static void print_path(struct conn *c);
static void print_device(struct ibv_context *dev, uint8_t port, uint32_t size);
static int check_devices(const struct config *cfg, struct sockaddr_storage *local, bool *have_local);
static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, const char *what);
static const char *addr_str(const struct sockaddr *sa, char *buf, size_t len);
static int expect_event(struct conn *c, enum rdma_cm_event_type want, uint64_t deadline, void *pdata,
			size_t plen);
static void set_conn_options(struct conn *c);
static void set_min_rnr_timer(struct conn *c);
static void conn_disconnect(struct conn *c);
static void conn_teardown(struct conn *c);
static void fill_hello(struct conn *c, struct hello *h);
static uint8_t check_hello(const struct hello *h);
static void printable(const char *in, size_t len, char *out, size_t outlen);
static const char *wait_text(struct conn *c, enum wait_result r, char *buf, size_t len);
static void server_tick(struct server *s, uint64_t t0, uint64_t *last_ops, uint64_t *last_bytes,
			uint64_t *last_cpu, uint64_t *last_t);
static void parse_args(int argc, char **argv, struct config *cfg);

/* 第二、三部分(資料路徑與量測迴圈) */
static int post_recv(struct conn *c, uint32_t i);
static int post_op(struct conn *c, enum ibv_wr_opcode opc, struct ibv_sge sge, uint64_t remote_off,
		   uint32_t imm, bool may_wait);
static int post_ctrl(struct conn *c, enum msg_type type, bool flag, uint64_t a, uint64_t b);
static int post_text(struct conn *c, const char *text);
static struct ibv_sge sge_send(struct conn *c, uint32_t i, uint32_t len);
static struct ibv_sge sge_win(struct conn *c, uint32_t i, uint32_t len);
static enum wait_result wait_until(struct conn *c, cond_fn done, uint64_t arg, enum wake how);
static void spin_release(struct conn *c);
static bool sends_done(struct conn *c, uint64_t n);
static bool have_credit(struct conn *c, uint64_t unused);
static bool have_text(struct conn *c, uint64_t unused);
static bool have_done(struct conn *c, uint64_t unused);
static bool have_ack(struct conn *c, uint64_t unused);
static int client_lat(struct conn *c);
static int client_bw(struct conn *c);
static enum wait_result serve_lat(struct conn *c);
static enum wait_result serve_bw(struct conn *c);
static enum wait_result finish_session(struct conn *c, bool ok);

/* ==== 第一部分:一條 RDMA 連線的故事 ========================================== */

/*
 * 建立一條連線需要的 verbs 資源,順序是:
 *   PD(protection domain:把這條連線的 MR 與 QP 圈在一起;別的連線的 rkey 對這條 QP 無效)
 *   -> completion channel + CQ(網卡做完一個工作請求就放一個 CQE 進來;channel 讓我們能睡著等)
 *   -> 兩個 MR:本地區只有 LOCAL_WRITE(送出、控制訊息、接收);視窗以 ibv_reg_mr_iova 註冊,
 *      iova 0,只有測試需要的遠端權限
 *   -> QP(rdma_create_qp:rdma_cm 建立 RC QP 並放在 INIT 狀態)
 *   -> 預先 post 全部 RECV(對方的 SEND 到達時必須已經有緩衝區等著)
 * 這些都在 connect / accept 之前做:視窗的 rkey 要放進 hello / welcome 告訴對方。
 * 記憶體用 mmap 取得:核心給的匿名分頁本來就是零,註冊時才真的配置並鎖定。
 * 失敗時 c->why 有說明,由 conn_teardown() 依已建立的部分倒序釋放。
 */
static int conn_setup(struct conn *c)
{
	struct ibv_context *dev = c->id->verbs;
	struct layout *l = &c->lay;
	struct ibv_qp_init_attr qa;
	int cqe = (int)(l->sq + l->nrecv + 4);

	c->pd = ibv_alloc_pd(dev);
	if (!c->pd)
		return conn_err(c, "ibv_alloc_pd 失敗:%s", strerror(errno));
	c->cc = ibv_create_comp_channel(dev);
	if (!c->cc)
		return conn_err(c, "ibv_create_comp_channel 失敗:%s", strerror(errno));
	fcntl(c->cc->fd, F_SETFL, fcntl(c->cc->fd, F_GETFL) | O_NONBLOCK);
	c->cq = ibv_create_cq(dev, cqe, c, c->cc, 0);
	if (!c->cq)
		return conn_err(c, "ibv_create_cq(%d 個 CQE)失敗:%s", cqe, strerror(errno));

	/* MR 1:本地區。沒有任何 REMOTE_* 權限,所以對方無論拿什麼 key 都碰不到 */
	c->local = map_zeroed(l->local_len);
	if (!c->local)
		return conn_err(c, "mmap %zu 位元組失敗:%s", l->local_len, strerror(errno));
	c->local_mr = ibv_reg_mr(c->pd, c->local, l->local_len, IBV_ACCESS_LOCAL_WRITE);
	if (!c->local_mr) {
		reg_mr_hint(c, l->local_len, errno);
		return -1;
	}
	/*
	 * MR 2:視窗。ibv_reg_mr_iova 讓網卡看到的位址從 0 開始:對方只需要(也只拿到)偏移,
	 * 看不到我們的虛擬位址;本地的 SGE 也要用同一套位址(見 sge_win())。
	 * 長度剛好是視窗大小(不是整頁),依規定 REMOTE_WRITE 必須同時有 LOCAL_WRITE。
	 */
	if (l->win_bytes) {
		c->win = map_zeroed(l->win_map);
		if (!c->win)
			return conn_err(c, "mmap %zu 位元組失敗:%s", l->win_map, strerror(errno));
		c->win_mr = ibv_reg_mr_iova(c->pd, c->win, l->win_bytes, 0,
					    IBV_ACCESS_LOCAL_WRITE | l->win_access);
		if (!c->win_mr) {
			reg_mr_hint(c, l->win_bytes, errno);
			return -1;
		}
	}

	memset(&qa, 0, sizeof(qa));
	qa.send_cq = c->cq;
	qa.recv_cq = c->cq;
	qa.qp_type = IBV_QPT_RC;
	qa.cap.max_send_wr = l->sq;
	qa.cap.max_recv_wr = l->nrecv;
	qa.cap.max_send_sge = 1;
	qa.cap.max_recv_sge = 1;
	/* 小訊息直接放進 WQE(inline):網卡不必再讀一次記憶體;不支援的裝置就不用 */
	qa.cap.max_inline_data = 64;
	if (rdma_create_qp(c->id, c->pd, &qa)) {
		qa.cap.max_inline_data = 0;
		if (rdma_create_qp(c->id, c->pd, &qa))
			return conn_err(c, "rdma_create_qp 失敗:%s", strerror(errno));
	}
	c->qp_created = true;
	c->max_inline = qa.cap.max_inline_data;
	c->sig_every = 1;
	for (uint32_t i = 0; i < l->nrecv; i++)
		if (post_recv(c, i))
			return -1;
	print_memory(c);
	return 0;
}

/*
 * connect / accept 的參數(兩端相同):private data(hello 或 welcome);同時未完成的 RDMA READ 數
 * (responder_resources / initiator_depth)交給 rdma_cm 取裝置上限(RDMA_MAX_*);傳輸重試與
 * RNR 重試都是有限的次數,見檔頭與 RETRY_COUNT / RNR_RETRY。注意 IB CM 的規定:連線要求(REQ)
 * 裡的 retry_count / rnr_retry_count 是「被動端」(伺服器)的 QP 要用的,接受(REP)裡的
 * rnr_retry_count 是客戶端的 QP 要用的,rdma_accept 的 retry_count 被忽略 —— 所以伺服器要檢查
 * 客戶端要求的數字(server_admit())。
 */
static struct rdma_conn_param conn_param(const void *pdata, uint8_t len)
{
	return (struct rdma_conn_param){
		.private_data = pdata,
		.private_data_len = len,
		.responder_resources = RDMA_MAX_RESP_RES,
		.initiator_depth = RDMA_MAX_INIT_DEPTH,
		.retry_count = RETRY_COUNT,
		.rnr_retry_count = RNR_RETRY,
	};
}

/*
 * 客戶端:整條故事由上往下。
 *   1. 解析位址(rdma_cm 依 IP 找出 RDMA 裝置與埠)  2. 解析路由(RoCE:GID、traffic class)
 *   3. 註冊記憶體、建立 QP、post RECV(conn_setup)  4. 連線(hello 放在 private data)
 *   5. 測試:demo 是 SEND → WRITE → READ;lat / bw 見第三部分  6. 中斷連線、拆除
 */
static int client_demo(struct conn *c);

static int run_client(const struct config *cfg)
{
	struct conn conn = { .cfg = cfg, .role = ROLE_CLIENT }, *c = &conn;
	struct sockaddr_storage dst, src;
	struct rdma_conn_param cp;
	struct hello h;
	struct welcome w;
	bool have_src;
	uint64_t deadline;
	int ret = 1;

	if (parse_addr(cfg->server, cfg->port, &dst, "伺服器位址"))
		return 64;
	if (cfg->bind_addr && parse_addr(cfg->bind_addr, 0, &src, "--bind 位址"))
		return 64;
	if (check_devices(cfg, &src, &have_src))
		return 1;
	have_src = have_src || cfg->bind_addr;
	snprintf(c->peer, sizeof(c->peer), "%s", cfg->server);
	c->test = cfg->test;
	c->op = cfg->op;
	c->size = cfg->size;
	c->depth = cfg->depth;
	c->iters = cfg->iters;
	c->duration = cfg->duration;
	c->event = cfg->event;
	c->use_imm = cfg->event && cfg->test == TEST_LAT && cfg->op == OP_WRITE;

	c->ec = rdma_create_event_channel();
	if (!c->ec) {
		fprintf(stderr, "錯誤:rdma_create_event_channel 失敗:%s(/dev/infiniband/rdma_cm 存在嗎?"
			"需要 rdma_ucm 模組)\n", strerror(errno));
		return 1;
	}
	fcntl(c->ec->fd, F_SETFL, fcntl(c->ec->fd, F_GETFL) | O_NONBLOCK);
	if (rdma_create_id(c->ec, &c->id, NULL, RDMA_PS_TCP)) {
		fprintf(stderr, "錯誤:rdma_create_id 失敗:%s\n", strerror(errno));
		goto out;
	}
	deadline = now_ns() + CONNECT_TIMEOUT_MS * 1000000ull;
	printf("連線到 %s:%d…\n", cfg->server, cfg->port);

	/* 1. 位址解析:決定用哪個 RDMA 裝置(依來源 / 目的 IP) */
	if (rdma_resolve_addr(c->id, have_src ? (struct sockaddr *)&src : NULL, (struct sockaddr *)&dst,
			      RESOLVE_TIMEOUT_MS)) {
		fprintf(stderr, "錯誤:rdma_resolve_addr(%s)失敗:%s。請確認該位址經由有 RDMA 裝置的"
			"介面可達(rdma link 看 rxe 綁在哪個介面)\n", cfg->server, strerror(errno));
		goto out;
	}
	if (expect_event(c, RDMA_CM_EVENT_ADDR_RESOLVED, deadline, NULL, 0))
		goto out;
	print_device(c->id->verbs, c->id->port_num, cfg->test == TEST_DEMO ? 0 : cfg->size);
	if (cfg->device && strcmp(cfg->device, ibv_get_device_name(c->id->verbs->device))) {
		fprintf(stderr, "錯誤:到 %s 的路徑走的是裝置 %s,不是 --device 指定的 %s;rdma_cm 依 IP "
			"選擇裝置,請用 --bind 指定 %s 所在介面的位址\n", cfg->server,
			ibv_get_device_name(c->id->verbs->device), cfg->device, cfg->device);
		goto out;
	}

	/* 2. 路由解析。traffic class(--tos)要在這之前設定,ACK 逾時要在連線之前 */
	set_conn_options(c);
	if (rdma_resolve_route(c->id, RESOLVE_TIMEOUT_MS)) {
		fprintf(stderr, "錯誤:rdma_resolve_route 失敗:%s\n", strerror(errno));
		goto out;
	}
	if (expect_event(c, RDMA_CM_EVENT_ROUTE_RESOLVED, deadline, NULL, 0))
		goto out;

	/* 3. PD、CQ、兩個 MR、QP,預先 post RECV(深度先壓在自己裝置的上限內) */
	c->depth = clamp_depth(c->id->verbs, c->depth);
	plan_layout(&c->lay, ROLE_CLIENT, c->test, c->op, c->size, c->depth);
	if (conn_setup(c)) {
		fprintf(stderr, "錯誤:%s\n", c->why);
		goto out;
	}

	/*
	 * 4. 連線。rdma_connect 送出連線要求(hello 在 private data 裡);伺服器接受後,
	 *    librdmacm 替我們把 QP 從 INIT 帶到 RTR(Ready to Receive:填入對方的 QP 編號、
	 *    GID、路徑 MTU、起始 PSN)再到 RTS(Ready to Send:重試次數、ACK 逾時),然後才送出
	 *    ESTABLISHED 事件。不用 rdma_cm 時要自己交換這些資訊並呼叫三次 ibv_modify_qp:
	 *    rdma-core 的 libibverbs/examples/rc_pingpong.c(ibv_rc_pingpong)就是那樣做的。
	 *    連線參數見 conn_param()。
	 */
	fill_hello(c, &h);
	cp = conn_param(&h, sizeof(h));
	if (rdma_connect(c->id, &cp)) {
		fprintf(stderr, "錯誤:rdma_connect 失敗:%s\n", strerror(errno));
		goto out;
	}
	memset(&w, 0, sizeof(w));
	if (expect_event(c, RDMA_CM_EVENT_ESTABLISHED, deadline, &w, sizeof(w)))
		goto out;
	c->connected = true;
	if (ntohl(w.magic) != HELLO_MAGIC || w.version != PROTO_VERSION) {
		fprintf(stderr, "錯誤:伺服器的回應不是本程式的協定(magic 或版本不符)\n");
		goto out_disconnect;
	}
	c->peer_win = ntohl(w.win_len);
	c->peer_rkey = ntohl(w.win_rkey);
	c->peer_credits = ntohl(w.recv_credits);
	if (ntohl(w.depth) && ntohl(w.depth) < c->depth) {
		printf("伺服器把深度從 %u 降為 %u(它的裝置上限)\n", c->depth, ntohl(w.depth));
		c->depth = ntohl(w.depth);
	}
	if (!c->peer_credits) {
		fprintf(stderr, "錯誤:伺服器沒有給任何 RECV credit(不是本程式的伺服器?)\n");
		goto out_disconnect;
	}
	set_min_rnr_timer(c);
	printf("已連線:QP 0x%x;伺服器視窗 %u 位元組(偏移 0 起算),rkey 0x%x,RECV credit %u\n",
	       c->id->qp->qp_num, c->peer_win, c->peer_rkey, c->peer_credits);
	print_path(c);
	c->last_peer_ns = now_ns();

	/* 5. 測試 */
	switch (cfg->test) {
	case TEST_DEMO:
		ret = client_demo(c) ? 1 : 0;
		break;
	case TEST_LAT:
		ret = client_lat(c) ? 1 : 0;
		break;
	case TEST_BW:
		ret = client_bw(c) ? 1 : 0;
		break;
	}
	if (stop)
		ret = 0; /* 使用者中斷:已印出部分結果,正常結束 */

	/* 6. 中斷連線(送出 DREQ,等對方的 DISCONNECTED 最多 1 秒),倒序拆除 */
out_disconnect:
	conn_disconnect(c);
	printf("已中斷連線\n");
out:
	conn_teardown(c);
	return ret;
}

/* demo:SEND 問候 → 收到 SEND 回覆 → RDMA WRITE 進伺服器視窗 → RDMA READ 讀回來比對 */
static int client_demo(struct conn *c)
{
	size_t wlen = sizeof(WRITE_TEXT);
	char shown[DEMO_SLOT * 2], why[WHY_LEN];
	enum wait_result r;
	bool ok, server_ok;
	uint64_t c0 = process_cpu_ns();

	/* 雙邊:SEND 落在伺服器預先 post 的 RECV 緩衝區;伺服器的 CPU 要處理它並回覆 */
	printf("步驟 1:SEND 問候給伺服器(%zu 位元組):%s\n", sizeof(GREETING), GREETING);
	if (post_text(c, GREETING))
		goto fail_post;
	if ((r = wait_until(c, have_text, 0, WAKE_CQE_SPIN)))
		goto fail;
	printable(c->text, c->text_len, shown, sizeof(shown));
	printf("步驟 2:收到伺服器的回覆(RECV %u 位元組):%s\n", c->text_len + 1, shown);

	/* 單邊:WRITE 直接寫進伺服器視窗的偏移 0,伺服器程式不知道也不參與 */
	memcpy(c->local + (size_t)c->lay.slot, WRITE_TEXT, wlen);
	printf("步驟 3:RDMA WRITE %zu 位元組到伺服器視窗(偏移 0,rkey 0x%x)\n", wlen, c->peer_rkey);
	if (post_op(c, IBV_WR_RDMA_WRITE, sge_send(c, 1, (uint32_t)wlen), 0, 0, true))
		goto fail_post;
	if ((r = wait_until(c, sends_done, c->posted, WAKE_CQE_SPIN)))
		goto fail;

	/* 單邊:READ 把同一塊伺服器記憶體讀回自己的視窗 */
	memset(c->win, 0, wlen);
	printf("步驟 4:RDMA READ 把同一塊伺服器記憶體讀回來\n");
	if (post_op(c, IBV_WR_RDMA_READ, sge_win(c, 0, (uint32_t)wlen), 0, 0, true))
		goto fail_post;
	if ((r = wait_until(c, sends_done, c->posted, WAKE_CQE_SPIN)))
		goto fail;
	ok = !memcmp(c->win, WRITE_TEXT, wlen);
	printf("步驟 5:比對讀回的內容:%s\n", ok ? "一致,WRITE/READ 驗證成功" : "不一致!WRITE/READ 驗證失敗");

	/* 告訴伺服器結束('E' 控制訊息),等它確認('A',附上它看到的記憶體內容是否正確) */
	if (post_ctrl(c, MSG_DONE, false, 3, process_cpu_ns() - c0))
		goto fail_post;
	if ((r = wait_until(c, have_ack, 0, WAKE_CQE_SPIN)))
		goto fail;
	server_ok = c->ack.flag;
	printf("步驟 6:伺服器確認它的記憶體內容%s\n", server_ok ? "正確" : "不正確");
	printf("SUMMARY role=client test=demo verify=%s server_verify=%s status=ok\n", ok ? "ok" : "fail",
	       server_ok ? "ok" : "fail");
	return ok && server_ok ? 0 : -1;
fail_post:
	r = WAIT_FAILED;
fail:
	fprintf(stderr, "錯誤:示範中止:%s\n", wait_text(c, r, why, sizeof(why)));
	printf("SUMMARY role=client test=demo verify=fail status=%s\n", r == WAIT_STOPPED ? "interrupted" : "error");
	return -1;
}

/*
 * 伺服器:主執行緒監聽並處理連線要求,每條連線交給自己的執行緒(serve_one),每秒印統計。
 */
static void server_admit(struct server *s, struct rdma_cm_event *ev);
static void server_reap(struct server *s, bool all);

static int run_server(const struct config *cfg)
{
	struct server srv = { .cfg = cfg }, *s = &srv;
	struct sockaddr_storage addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&addr;
	bool have_local;
	char ip[INET6_ADDRSTRLEN];
	uint64_t t0, last_ops = 0, last_bytes = 0, last_cpu, last_t, next_tick;
	int ret = 1;

	memset(&addr, 0, sizeof(addr));
	if (cfg->bind_addr && parse_addr(cfg->bind_addr, cfg->port, &addr, "--bind 位址"))
		return 64;
	if (check_devices(cfg, &addr, &have_local))
		return 1;
	if (!cfg->bind_addr && !have_local)
		sin->sin_family = AF_INET; /* 0.0.0.0:所有 RDMA 裝置 */
	if (addr.ss_family == AF_INET)
		sin->sin_port = htons((uint16_t)cfg->port);
	else
		((struct sockaddr_in6 *)&addr)->sin6_port = htons((uint16_t)cfg->port);
	pthread_mutex_init(&s->lock, NULL);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	s->spin_max = s->spin_free = ncpu > 2 ? (int)ncpu - 1 : 1;

	s->ec = rdma_create_event_channel();
	if (!s->ec) {
		fprintf(stderr, "錯誤:rdma_create_event_channel 失敗:%s(需要 rdma_ucm 模組)\n", strerror(errno));
		return 1;
	}
	fcntl(s->ec->fd, F_SETFL, fcntl(s->ec->fd, F_GETFL) | O_NONBLOCK);
	if (rdma_create_id(s->ec, &s->listen_id, NULL, RDMA_PS_TCP)) {
		fprintf(stderr, "錯誤:rdma_create_id 失敗:%s\n", strerror(errno));
		goto out_channel;
	}
	if (rdma_bind_addr(s->listen_id, (struct sockaddr *)&addr)) {
		int e = errno;

		fprintf(stderr, "錯誤:rdma_bind_addr(%s:%d)失敗:%s%s\n",
			addr_str((struct sockaddr *)&addr, ip, sizeof(ip)), cfg->port, strerror(e),
			e == EADDRINUSE	     ? "(埠已被使用:換一個 --port)"
			: e == EADDRNOTAVAIL ? "(這個位址不在任何有 RDMA 裝置的介面上)"
					     : "");
		goto out_id;
	}
	if (rdma_listen(s->listen_id, (int)cfg->max_clients)) {
		fprintf(stderr, "錯誤:rdma_listen 失敗:%s\n", strerror(errno));
		goto out_id;
	}
	if (s->listen_id->verbs)
		print_device(s->listen_id->verbs, s->listen_id->port_num, 0);
	printf("伺服器在 %s:%d 等待客戶端(最多同時 %u 個,註冊記憶體上限 %" PRIu64 " MiB,同時忙碌輪詢最多 %d 條連線;"
	       "Ctrl-C 結束%s)…\n",
	       addr_str((struct sockaddr *)&addr, ip, sizeof(ip)), cfg->port, cfg->max_clients,
	       cfg->max_mem >> 20, s->spin_max, cfg->once ? ",服務一個客戶端後結束" : "");
	ret = 0;
	t0 = last_t = now_ns();
	last_cpu = process_cpu_ns();
	next_tick = t0 + 1000000000ull;
	while (!stop) {
		struct pollfd pfd = { .fd = s->ec->fd, .events = POLLIN };
		struct rdma_cm_event *ev;
		uint64_t t = now_ns();

		poll(&pfd, 1, t < next_tick ? (int)((next_tick - t) / 1000000) + 1 : 0);
		while (!rdma_get_cm_event(s->ec, &ev)) {
			if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
				server_admit(s, ev); /* 它負責 ack 這個事件 */
				continue;
			}
			if (ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL) {
				fprintf(stderr, "錯誤:RDMA 裝置被移除,伺服器結束\n");
				ret = 1;
				stop = 1;
			}
			rdma_ack_cm_event(ev);
		}
		server_reap(s, false);
		if (now_ns() >= next_tick) {
			server_tick(s, t0, &last_ops, &last_bytes, &last_cpu, &last_t);
			next_tick += 1000000000ull;
			if (next_tick < now_ns())
				next_tick = now_ns() + 1000000000ull;
		}
		if (cfg->once && s->ok + s->lost > 0 && !s->active)
			break;
	}
	server_reap(s, true); /* 各連線執行緒看到 stop 會自己結束;等它們全部拆除完 */
	printf("伺服器結束:連線要求 %" PRIu64 " 個:完成 %" PRIu64 "、中途離線 %" PRIu64 "、拒絕 %" PRIu64
	       "(忙碌 %" PRIu64 "、記憶體不足 %" PRIu64 "、參數不合理 %" PRIu64 ")\n",
	       s->requests, s->ok, s->lost, s->rej_busy + s->rej_mem + s->rej_bad, s->rej_busy, s->rej_mem,
	       s->rej_bad);
	printf("  同時連線最多 %u 個,註冊記憶體最多 %.1f MiB(上限 %" PRIu64 " MiB),伺服器 CPU 共 %.1f ms\n",
	       s->peak_active, s->mem_peak / 1048576.0, cfg->max_mem >> 20, process_cpu_ns() / 1e6);
	printf("SUMMARY role=server requests=%" PRIu64 " ok=%" PRIu64 " lost=%" PRIu64 " rejected=%" PRIu64
	       " rej_busy=%" PRIu64 " rej_mem=%" PRIu64 " rej_bad=%" PRIu64 " peak_clients=%u peak_mem_kib=%" PRIu64
	       " cpu_ms=%.1f status=%s\n",
	       s->requests, s->ok, s->lost, s->rej_busy + s->rej_mem + s->rej_bad, s->rej_busy, s->rej_mem,
	       s->rej_bad, s->peak_active, s->mem_peak >> 10, process_cpu_ns() / 1e6, ret ? "error" : "ok");
out_id:
	rdma_destroy_id(s->listen_id);
out_channel:
	rdma_destroy_event_channel(s->ec);
	pthread_mutex_destroy(&s->lock);
	return ret;
}

/* 在我們這一端配置失敗(不是對方的錯):拒絕並帶上 errno,客戶端才不會以為「沒有伺服器」 */
static void refuse_server_error(struct rdma_cm_id *id, int err, uint64_t need)
{
	struct refusal rf = {
		.magic = htonl(HELLO_MAGIC),
		.reason = REFUSE_SERVER,
		.detail = (uint8_t)(err > 0 && err < 256 ? err : 0),
		.need = htonl((uint32_t)((need + 1023) >> 10)),
	};

	rdma_reject(id, &rf, sizeof(rf));
}

/*
 * 一個連線要求:先檢查 hello 與上限(什麼都還沒配置),不行就帶原因拒絕;
 * 可以就保留它的記憶體額度,把 cm_id 搬到這條連線自己的 event channel,交給新執行緒。
 */
static void *conn_thread(void *arg);

static void server_admit(struct server *s, struct rdma_cm_event *ev)
{
	const struct config *cfg = s->cfg;
	struct rdma_cm_id *id = ev->id;
	struct refusal rf = { .magic = htonl(HELLO_MAGIC) };
	struct hello h;
	struct layout lay;
	struct conn *c = NULL;
	char ip[INET6_ADDRSTRLEN];
	uint8_t detail = BAD_PROTO;
	uint32_t depth = 0;
	uint64_t num, need = 0;
	pthread_attr_t ta;
	sigset_t all, old;
	int e = 0;

	memset(&h, 0, sizeof(h));
	memset(&lay, 0, sizeof(lay));
	if (ev->param.conn.private_data && ev->param.conn.private_data_len >= sizeof(h)) {
		memcpy(&h, ev->param.conn.private_data, sizeof(h));
		detail = check_hello(&h);
	}
	/*
	 * 連線要求裡的傳輸重試與 RNR 重試次數是「伺服器的」QP 要用的(IB CM 的規定:REQ 的數字
	 * 給被動端,rdma_accept 的 retry_count 會被忽略)。7 在 RNR 是無限(Soft-RoCE 的傳輸重試也是),
	 * 伺服器的送出就可能永遠卡在重試裡,keepalive 也發現不了對方消失:拒絕。
	 */
	if (!detail && (ev->param.conn.retry_count > RETRY_COUNT || ev->param.conn.rnr_retry_count > RNR_RETRY))
		detail = BAD_RETRY;
	if (!detail) {
		depth = h.test == TEST_BW ? clamp_depth(id->verbs, ntohl(h.depth)) : 1;
		plan_layout(&lay, ROLE_SERVER, h.test, h.op, ntohl(h.size), depth);
		need = lay.local_len + lay.win_map; /* 這個要求會註冊的全部記憶體 */
	}
	addr_str(rdma_get_peer_addr(id), ip, sizeof(ip));

	pthread_mutex_lock(&s->lock);
	num = ++s->requests;
	if (detail) {
		rf.reason = REFUSE_BAD;
		rf.detail = detail;
		s->rej_bad++;
	} else if (s->active >= cfg->max_clients) {
		rf.reason = REFUSE_BUSY;
		rf.limit = htonl(cfg->max_clients);
		s->rej_busy++;
	} else if (s->mem_used + need > cfg->max_mem) {
		rf.reason = REFUSE_MEM;
		rf.limit = htonl((uint32_t)(cfg->max_mem >> 10));
		rf.need = htonl((uint32_t)(need > (1ull << 42) ? UINT32_MAX : (need + 1023) >> 10));
		rf.used = htonl((uint32_t)(s->mem_used >> 10));
		s->rej_mem++;
	} else {
		s->active++;
		s->mem_used += need;
		if (s->active > s->peak_active)
			s->peak_active = s->active;
		if (s->mem_used > s->mem_peak)
			s->mem_peak = s->mem_used;
	}
	pthread_mutex_unlock(&s->lock);

	if (rf.reason) {
		printf("[#%" PRIu64 "] 拒絕 %s 的連線要求:%s\n", num, ip,
		       rf.reason == REFUSE_BAD	  ? "參數不合理或不是本程式的協定"
		       : rf.reason == REFUSE_BUSY ? "已達 --max-clients 上限(忙碌)"
						  : "記憶體會超過 --max-mem 上限");
		if (rf.reason == REFUSE_MEM)
			printf("[#%" PRIu64 "]   這個要求需要 %.1f MiB,已用 %.1f MiB,上限 %" PRIu64 " MiB\n", num,
			       need / 1048576.0, ntohl(rf.used) / 1024.0, cfg->max_mem >> 20);
		rdma_reject(id, &rf, sizeof(rf));
		rdma_ack_cm_event(ev);
		rdma_destroy_id(id);
		return;
	}

	c = calloc(1, sizeof(*c));
	if (c) {
		c->cfg = cfg;
		c->srv = s;
		c->role = ROLE_SERVER;
		c->num = num;
		c->need = need;
		c->id = id;
		c->lay = lay;
		c->test = h.test;
		c->op = h.op;
		c->use_imm = h.use_imm;
		c->size = ntohl(h.size);
		c->depth = depth;
		c->iters = ntohl(h.iters);
		c->duration = ntohl(h.duration);
		c->peer_win = ntohl(h.win_len);
		c->peer_rkey = ntohl(h.win_rkey);
		c->event = cfg->event;
		snprintf(c->tag, sizeof(c->tag), "[#%" PRIu64 "] ", num);
		snprintf(c->peer, sizeof(c->peer), "%s", ip);
		c->ec = rdma_create_event_channel();
	}
	rdma_ack_cm_event(ev); /* rdma_migrate_id 要等這個 id 的事件都 ack 了才會搬 */
	if (!c || !c->ec || rdma_migrate_id(id, c->ec)) {
		fprintf(stderr, "[#%" PRIu64 "] 錯誤:無法為新連線建立 event channel:%s\n", num, strerror(errno));
		goto undo;
	}
	fcntl(c->ec->fd, F_SETFL, fcntl(c->ec->fd, F_GETFL) | O_NONBLOCK);
	/* 連線執行緒不接收訊號(交給主執行緒);堆疊不需要預設的 8 MiB */
	pthread_attr_init(&ta);
	pthread_attr_setstacksize(&ta, 256 << 10);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	e = pthread_create(&c->thread, &ta, conn_thread, c);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	pthread_attr_destroy(&ta);
	if (e) {
		fprintf(stderr, "[#%" PRIu64 "] 錯誤:pthread_create 失敗:%s\n", num, strerror(e));
		goto undo;
	}
	c->next = s->conns;
	s->conns = c;
	return;
undo:
	refuse_server_error(id, e ? e : errno, need);
	rdma_destroy_id(id);
	if (c && c->ec)
		rdma_destroy_event_channel(c->ec);
	free(c);
	pthread_mutex_lock(&s->lock);
	s->active--;
	s->mem_used -= need;
	s->lost++;
	pthread_mutex_unlock(&s->lock);
}

/*
 * 一條連線的伺服器端:註冊 → 接受 → 等 ESTABLISHED → 依客戶端的要求服務 → 中斷。
 * 結果:0 完成,-1 中途離線或出錯。
 */
static enum wait_result serve_demo(struct conn *c);
static void report_session(struct conn *c, enum wait_result r, uint64_t t0);

static int serve_one(struct conn *c)
{
	struct rdma_conn_param cp;
	struct welcome w;
	enum wait_result r;
	uint64_t t0 = now_ns();

	if (c->test == TEST_DEMO)
		printf("%s%s 連入:示範(問候 + WRITE/READ 驗證)\n", c->tag, c->peer);
	else
		printf("%s%s 連入:測試 %s,操作 %s%s,%u 位元組,%s %u%s,深度 %u%s\n", c->tag, c->peer,
		       test_names[c->test], op_names[c->op], c->use_imm ? "(WRITE_WITH_IMM)" : "", c->size,
		       c->duration ? "時間" : "次數", c->duration ? c->duration : c->iters,
		       c->duration ? " 秒" : "", c->depth, c->event ? ",伺服器等待完成事件" : "");

	/* 3. 註冊記憶體、建立 QP、post RECV(額度已在 server_admit 保留) */
	if (conn_setup(c)) {
		printf("%s錯誤:%s\n", c->tag, c->why);
		refuse_server_error(c->id, c->err, c->need);
		return -1;
	}
	set_conn_options(c);

	/* 4. 接受:welcome 放在 private data。rdma_accept 把 QP 帶到 RTR、RTS(見 run_client 的說明) */
	w = (struct welcome){
		.magic = htonl(HELLO_MAGIC),
		.version = PROTO_VERSION,
		.depth = htonl(c->depth),
		.recv_credits = htonl(c->lay.nrecv),
		.win_len = htonl((uint32_t)c->lay.win_bytes),
		.win_rkey = htonl(c->win_mr ? c->win_mr->rkey : 0),
	};
	cp = conn_param(&w, sizeof(w));
	if (rdma_accept(c->id, &cp)) {
		printf("%s錯誤:rdma_accept 失敗:%s\n", c->tag, strerror(errno));
		return -1;
	}
	set_min_rnr_timer(c);
	if (expect_event(c, RDMA_CM_EVENT_ESTABLISHED, now_ns() + CONNECT_TIMEOUT_MS * 1000000ull, NULL, 0))
		return -1;
	c->connected = true;
	print_path(c);
	c->last_peer_ns = now_ns();
	c->next_keepalive_ns = c->last_peer_ns + KEEPALIVE_MS * 1000000ull;
	c->cpu0 = thread_cpu_ns();

	/* 5. 依客戶端的要求服務 */
	switch (c->test) {
	case TEST_DEMO:
		r = serve_demo(c);
		break;
	case TEST_LAT:
		r = serve_lat(c);
		break;
	default:
		r = serve_bw(c);
		break;
	}
	spin_release(c); /* 忙碌輪詢的名額現在就還:中斷連線可能要等 1 秒 */
	report_session(c, r, t0);

	/* 6. 中斷連線 */
	conn_disconnect(c);
	return r == WAIT_OK ? 0 : -1;
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct server *s = c->srv;
	int r = serve_one(c);

	spin_release(c);
	conn_teardown(c); /* 包括 rdma_destroy_id 與這條連線的 event channel */
	pthread_mutex_lock(&s->lock);
	s->active--;
	s->mem_used -= c->need;
	if (r == 0)
		s->ok++;
	else
		s->lost++;
	pthread_mutex_unlock(&s->lock);
	__atomic_store_n(&c->finished, 1, __ATOMIC_RELEASE);
	return NULL;
}

/* 收回已結束的連線執行緒;all = 等全部結束(伺服器結束時) */
static void server_reap(struct server *s, bool all)
{
	for (struct conn **pp = &s->conns; *pp;) {
		struct conn *c = *pp;

		if (!all && !__atomic_load_n(&c->finished, __ATOMIC_ACQUIRE)) {
			pp = &c->next;
			continue;
		}
		pthread_join(c->thread, NULL);
		s->retired_ops += __atomic_load_n(&c->st_ops, __ATOMIC_RELAXED);
		s->retired_bytes += __atomic_load_n(&c->st_bytes, __ATOMIC_RELAXED);
		*pp = c->next;
		free(c);
	}
}

/* 伺服器的 demo:收問候 → 回覆 → 睡著等客戶端做完 WRITE / READ → 檢查視窗內容 → 確認 */
static enum wait_result serve_demo(struct conn *c)
{
	char shown[DEMO_SLOT * 2];
	enum wait_result r;
	bool ok;

	if ((r = wait_until(c, have_text, 0, WAKE_CQE_SLEEP)))
		return r;
	printable(c->text, c->text_len, shown, sizeof(shown));
	printf("%s收到客戶端的 SEND(%u 位元組):%s\n", c->tag, c->text_len + 1, shown);
	printf("%s以 SEND 回覆:%s\n", c->tag, REPLY);
	if (post_text(c, REPLY))
		return WAIT_FAILED;
	printf("%s等待客戶端的 RDMA WRITE / READ(伺服器 CPU 不參與,只等結束訊號)…\n", c->tag);
	if ((r = wait_until(c, have_done, 0, WAKE_CQE_SLEEP)))
		return r;
	ok = !memcmp(c->win, WRITE_TEXT, sizeof(WRITE_TEXT));
	printable(c->win, sizeof(WRITE_TEXT) - 1, shown, sizeof(shown));
	printf("%s客戶端寫進視窗的內容:%s\n", c->tag, shown);
	printf("%s伺服器端驗證:%s\n", c->tag, ok ? "內容正確" : "內容不正確!");
	return finish_session(c, ok);
}

/* ==== 第二部分:資料路徑 ====================================================== */

static char *recv_buf(struct conn *c, uint32_t i)
{
	return c->local + c->lay.recv_off + (size_t)(i % c->lay.nrecv) * c->lay.rslot;
}

/* 本地 MR 裡的送出 slot:SGE 的位址就是虛擬位址 */
static struct ibv_sge sge_send(struct conn *c, uint32_t i, uint32_t len)
{
	return (struct ibv_sge){ .addr = (uintptr_t)(c->local + (size_t)(i % c->lay.nsend) * c->lay.slot),
				 .length = len,
				 .lkey = c->local_mr->lkey };
}

/* 視窗 MR 的 slot:視窗以 iova 0 註冊,本地 SGE 也用 iova(偏移),不是指標 */
static struct ibv_sge sge_win(struct conn *c, uint32_t i, uint32_t len)
{
	return (struct ibv_sge){ .addr = (uint64_t)(i % c->lay.nwin) * c->lay.slot,
				 .length = len,
				 .lkey = c->win_mr->lkey };
}

static int post_recv(struct conn *c, uint32_t i)
{
	struct ibv_sge sge = { .addr = (uintptr_t)recv_buf(c, i), .length = c->lay.rslot, .lkey = c->local_mr->lkey };
	struct ibv_recv_wr wr = { .wr_id = WRID_RECV | (i % c->lay.nrecv), .sg_list = &sge, .num_sge = 1 }, *bad;
	int ret = ibv_post_recv(c->id->qp, &wr, &bad);

	if (ret)
		return conn_err(c, "ibv_post_recv 失敗:%s", strerror(ret));
	return 0;
}

static bool sq_has_room(struct conn *c, uint64_t unused)
{
	(void)unused;
	return c->posted - c->completed < c->lay.sq - 1;
}

/*
 * credit:客戶端的每一則 SEND 都會用掉伺服器一個 RECV。伺服器一開始 post 了 peer_credits 個,
 * 之後每重新 post 一批就用 'C' 訊息回報總數;客戶端送出的 SEND 總數永遠不超過兩者之和。
 * (伺服器送給客戶端的 SEND 是一問一答或少量控制訊息,客戶端的 RECV 足夠,不需要 credit。)
 */
static bool have_credit(struct conn *c, uint64_t unused)
{
	(void)unused;
	return c->role == ROLE_SERVER || c->sends < c->peer_credits + c->peer_reposted;
}

/* 送出佇列有空位才 post(滿了就等完成;may_wait = false 時回傳 1 = 稍後再試) */
static int post_wr(struct conn *c, struct ibv_send_wr *wr, bool may_wait)
{
	struct ibv_send_wr *bad;
	int ret;

	/* SEND 與 WRITE_WITH_IMM 都會用掉對方一個 RECV:要有 credit */
	bool uses_recv = wr->opcode == IBV_WR_SEND || wr->opcode == IBV_WR_RDMA_WRITE_WITH_IMM;

	if (!sq_has_room(c, 0) || (uses_recv && !have_credit(c, 0))) {
		if (!may_wait)
			return 1;
		if (wait_until(c, sq_has_room, 0, WAKE_CQE_SPIN) || wait_until(c, have_credit, 0, WAKE_CQE_SPIN))
			return -1;
	}
	ret = ibv_post_send(c->id->qp, wr, &bad);
	if (ret)
		return conn_err(c, "ibv_post_send 失敗:%s", strerror(ret));
	c->posted++;
	if (uses_recv)
		c->sends++;
	return 0;
}

/*
 * post 一個送出端工作請求(SEND / RDMA WRITE / READ,或 WRITE_WITH_IMM)。
 *   - RDMA 操作的遠端位址就是對方視窗的偏移(對方以 iova 0 註冊);送出前檢查不越界:
 *     這是「守規矩的」程式自己的檢查,真正的防線在對方網卡(越界一律 remote access error)。
 *   - 選擇性要求 CQE(selective signaling):量測時每 sig_every 個 WR 才要一個 CQE;
 *     送出佇列依序完成,所以一個 CQE 代表它之前的 WR 也都完成了。
 */
static int post_op(struct conn *c, enum ibv_wr_opcode opc, struct ibv_sge sge, uint64_t remote_off,
		   uint32_t imm, bool may_wait)
{
	struct ibv_send_wr wr = {
		.wr_id = c->posted,
		.sg_list = &sge,
		.num_sge = sge.length ? 1 : 0,
		.opcode = opc,
	};

	if (opc != IBV_WR_SEND) {
		if (!c->peer_win || remote_off + sge.length > c->peer_win)
			return conn_err(c, "超出對方視窗(偏移 %" PRIu64 " + %u > %u)", remote_off, sge.length,
					c->peer_win);
		wr.wr.rdma.remote_addr = remote_off;
		wr.wr.rdma.rkey = c->peer_rkey;
	}
	if (opc == IBV_WR_RDMA_WRITE_WITH_IMM)
		wr.imm_data = htonl(imm);
	if (c->sig_every <= 1 || (c->posted + 1) % c->sig_every == 0)
		wr.send_flags |= IBV_SEND_SIGNALED;
	if (sge.length && sge.length <= c->max_inline && opc != IBV_WR_RDMA_READ)
		wr.send_flags |= IBV_SEND_INLINE;
	return post_wr(c, &wr, may_wait);
}

static bool ctrl_slot_free(struct conn *c, uint64_t slot)
{
	return !c->ctrl_wrid[slot] || c->completed >= c->ctrl_wrid[slot];
}

/* 控制訊息放進自己的緩衝區(環狀,等上一次用它的 SEND 完成)再 SEND;may_wait = false 時不等 */
static int post_msg(struct conn *c, const void *msg, uint32_t len, bool may_wait)
{
	uint32_t slot = c->ctrl_next % CTRL_RING, saved = c->sig_every;
	char *buf = c->local + c->lay.ctrl_off + (size_t)slot * CTRL_SLOT;
	struct ibv_sge sge = { .addr = (uintptr_t)buf, .length = len, .lkey = c->local_mr->lkey };
	int r;

	if (!ctrl_slot_free(c, slot)) {
		if (!may_wait)
			return 1;
		if (wait_until(c, ctrl_slot_free, slot, WAKE_CQE_SPIN))
			return -1;
	}
	memcpy(buf, msg, len);
	/*
	 * 先保留這一格:post_op 可能要等送出佇列的空位,等待中處理的 CQE 會觸發 credit 訊息
	 * (maybe_send_credit),它不能拿到同一格而蓋掉還沒送出的這則訊息。
	 */
	c->ctrl_wrid[slot] = UINT64_MAX;
	c->ctrl_next++;
	c->sig_every = 1; /* 控制訊息一定要 CQE:才知道緩衝區何時能重用 */
	r = post_op(c, IBV_WR_SEND, sge, 0, 0, may_wait);
	c->sig_every = saved;
	c->ctrl_wrid[slot] = r ? 0 : c->posted;
	return r;
}

static int post_ctrl(struct conn *c, enum msg_type type, bool flag, uint64_t a, uint64_t b)
{
	struct ctrl m = { .type = (uint8_t)type, .flag = flag, .a = htobe64(a), .b = htobe64(b) };

	return post_msg(c, &m, sizeof(m), true) ? -1 : 0;
}

/* demo 的文字:'T' + 文字(不含結尾的 0),放在送出區 slot 0 */
static int post_text(struct conn *c, const char *text)
{
	size_t n = strlen(text) + 1;

	if (n > c->lay.slot || n > DEMO_SLOT)
		return conn_err(c, "文字太長(%zu 位元組)", n);
	c->local[0] = MSG_TEXT;
	memcpy(c->local + 1, text, n - 1);
	return post_op(c, IBV_WR_SEND, sge_send(c, 0, (uint32_t)n), 0, 0, true) ? -1 : 0;
}

/* 伺服器:每重新 post 四分之一的 RECV 就回報一次 credit(在 poll_cq 之後送,不在 CQE 處理中遞迴) */
static void maybe_send_credit(struct conn *c)
{
	uint32_t batch = c->lay.nrecv / 4 ? c->lay.nrecv / 4 : 1;
	struct ctrl m = { .type = MSG_CREDIT };

	if (c->role != ROLE_SERVER || c->reposted - c->credit_sent < batch)
		return;
	m.a = htobe64(c->reposted);
	if (post_msg(c, &m, sizeof(m), false) == 0)
		c->credit_sent = c->reposted;
}

static void publish(struct conn *c, uint64_t ops, uint64_t bytes)
{
	__atomic_store_n(&c->st_ops, ops, __ATOMIC_RELAXED);
	__atomic_store_n(&c->st_bytes, bytes, __ATOMIC_RELAXED);
}

static int protocol_error(struct conn *c, const char *what, unsigned v)
{
	snprintf(c->why, sizeof(c->why), "對方違反協定:%s(0x%02x)", what, v);
	c->failed = c->violation = true;
	return -1;
}

/* 收到一則 SEND:依第一個位元組的種類處理。不合協定就關閉這條連線 */
static int handle_msg(struct conn *c, const unsigned char *p, uint32_t len)
{
	struct ctrl m;
	bool server = c->role == ROLE_SERVER;

	if (!len)
		return protocol_error(c, "長度 0 的 SEND", 0);
	switch (p[0]) {
	case MSG_DATA:
		if (c->test == TEST_DEMO || c->op != OP_SEND)
			return protocol_error(c, "這個測試不該有資料 SEND", p[0]);
		c->recvs++;
		c->recv_bytes += len;
		if (server)
			publish(c, c->recvs, c->recv_bytes);
		return 0;
	case MSG_TEXT:
		if (c->test != TEST_DEMO || c->got_text)
			return protocol_error(c, "多出來的文字訊息", p[0]);
		c->text_len = len - 1 < sizeof(c->text) ? len - 1 : (uint32_t)sizeof(c->text);
		memcpy(c->text, p + 1, c->text_len);
		c->got_text = true;
		return 0;
	}
	if (len < sizeof(m))
		return protocol_error(c, "控制訊息太短", p[0]);
	memcpy(&m, p, sizeof(m));
	m.a = be64toh(m.a);
	m.b = be64toh(m.b);
	switch (server ? (int)m.type | 0x100 : (int)m.type) {
	case MSG_ALIVE | 0x100:
		if (c->op != OP_SEND && c->test != TEST_DEMO)
			publish(c, m.a, m.b); /* 單邊操作:伺服器看不到,只能靠客戶端回報 */
		return 0;
	case MSG_DONE | 0x100:
		if (c->got_done)
			return protocol_error(c, "重複的結束訊息", m.type);
		c->done = m;
		c->got_done = true;
		if (c->op != OP_SEND && c->test != TEST_DEMO)
			publish(c, m.a, m.a * c->size);
		return 0;
	case MSG_ACK:
		c->ack = m;
		c->got_ack = true;
		return 0;
	case MSG_CREDIT:
		if (m.a < c->peer_reposted || m.a > c->sends)
			return protocol_error(c, "credit 數字不合理", m.type);
		c->peer_reposted = m.a;
		return 0;
	}
	return protocol_error(c, "不認得的訊息種類", m.type);
}

static int wc_error(struct conn *c, const struct ibv_wc *wc)
{
	bool ka = wc->wr_id & WRID_KEEPALIVE, recv = wc->wr_id & WRID_RECV;
	const char *hint = "";

	/*
	 * 接收端出錯:我們 post 的 RECV 一定是好的,所以是對方的 SEND 比緩衝區長。網卡回報
	 * LOC_LEN_ERR;Soft-RoCE 回報 LOC_QP_OP_ERR(或 REM_INV_REQ_ERR),同時 NAK 對方。
	 */
	if (recv && !c->failed &&
	    (wc->status == IBV_WC_LOC_LEN_ERR || wc->status == IBV_WC_LOC_QP_OP_ERR ||
	     wc->status == IBV_WC_REM_INV_REQ_ERR)) {
		snprintf(c->why, sizeof(c->why), "對方違反協定:送來的 SEND 比接收緩衝區(%u 位元組)長(RECV 的 CQE:%s)",
			 c->lay.rslot, ibv_wc_status_str(wc->status));
		c->failed = c->violation = true;
		return -1;
	}
	switch (wc->status) {
	case IBV_WC_WR_FLUSH_ERR:
		/* QP 已進入錯誤狀態(連線中斷或先前的錯誤):剩下的工作請求被沖掉 */
		if (!c->failed)
			snprintf(c->why, sizeof(c->why), "連線已中斷(工作請求被沖掉)");
		c->failed = true;
		return -1;
	case IBV_WC_RETRY_EXC_ERR:
		hint = ka ? ":keepalive 沒有得到確認,對方主機當機、網路斷了或 QP 已不存在"
			  : ":對方沒有確認(主機當機、網路斷了或 QP 已不存在)";
		break;
	case IBV_WC_RNR_RETRY_EXC_ERR:
		hint = ":對方沒有 post 接收緩衝區(RNR 重試用完;credit 計算出錯或對方不守協定)";
		break;
	case IBV_WC_REM_ACCESS_ERR:
		hint = ":對方拒絕存取(超出視窗、rkey 錯誤或權限不足)";
		break;
	case IBV_WC_REM_INV_REQ_ERR:
		hint = ":對方認為這個請求不合法(例如訊息比它的接收緩衝區長)";
		break;
	default:
		break;
	}
	if (!c->failed)
		snprintf(c->why, sizeof(c->why), "CQE 錯誤:%s(%s,vendor_err 0x%x)%s", ibv_wc_status_str(wc->status),
			 ka ? "keepalive" : recv ? "RECV" : "送出端", wc->vendor_err, hint);
	c->failed = true;
	return -1;
}

/*
 * 處理一個 CQE:
 *   送出端完成(SEND / WRITE / READ):推進 completed;不是 keepalive 的話也代表對方還活著。
 *   接收端完成(RECV):先處理訊息,再把同一個緩衝區 post 回去。
 */
static int handle_wc(struct conn *c, const struct ibv_wc *wc)
{
	uint32_t i = (uint32_t)wc->wr_id;
	int r = 0;

	if (wc->status != IBV_WC_SUCCESS)
		return wc_error(c, wc);
	switch (wc->opcode) {
	case IBV_WC_SEND:
	case IBV_WC_RDMA_WRITE:
	case IBV_WC_RDMA_READ:
		c->completed = (wc->wr_id & ~WRID_KEEPALIVE) + 1;
		while (c->data_done < c->data_posted && c->data_wrid[c->data_done % c->data_ring] < c->completed)
			c->data_done++;
		if (!(wc->wr_id & WRID_KEEPALIVE))
			c->last_peer_ns = now_ns();
		return 0;
	case IBV_WC_RECV_RDMA_WITH_IMM:
		/* WRITE_WITH_IMM:資料已寫進視窗,另外消耗一個 RECV 帶來 immediate 值 */
		if (!c->use_imm)
			r = protocol_error(c, "沒有約定卻送來 WRITE_WITH_IMM", 0);
		c->recvs++;
		if (c->role == ROLE_SERVER)
			publish(c, c->recvs, c->recvs * c->size);
		break;
	case IBV_WC_RECV:
		r = handle_msg(c, (const unsigned char *)recv_buf(c, i), wc->byte_len);
		break;
	default:
		return 0;
	}
	c->last_peer_ns = now_ns();
	if (r)
		return r;
	c->reposted++;
	return post_recv(c, i);
}

/* 處理 CQ 裡已經有的 CQE;回傳處理的數量,-1 = 錯誤(c->why 有說明) */
static int poll_cq(struct conn *c)
{
	struct ibv_wc wc[16];
	int n = ibv_poll_cq(c->cq, 16, wc);

	if (n < 0)
		return conn_err(c, "ibv_poll_cq 失敗");
	for (int i = 0; i < n; i++)
		if (handle_wc(c, &wc[i]))
			return -1;
	if (n > 0)
		maybe_send_credit(c);
	return n;
}

/* 非阻塞地看這條連線的 rdma_cm 事件(對方中斷連線) */
static void check_cm(struct conn *c)
{
	struct rdma_cm_event *ev;

	while (!rdma_get_cm_event(c->ec, &ev)) {
		if (ev->event == RDMA_CM_EVENT_DISCONNECTED || ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL)
			c->peer_gone = true;
		rdma_ack_cm_event(ev);
	}
}

/*
 * keepalive:0 位元組、要求 CQE 的 RDMA WRITE(寫到對方視窗的偏移 0,什麼也沒寫)。
 * 對方的網卡回 ACK,不需要對方的 CPU 也不用掉對方的 RECV;對方主機或網路不見了,
 * 重試 RETRY_COUNT 次(每次 ACK_TIMEOUT)之後得到 IBV_WC_RETRY_EXC_ERR。
 */
static void send_keepalive(struct conn *c, uint64_t now)
{
	struct ibv_send_wr wr = {
		.wr_id = c->posted | WRID_KEEPALIVE,
		.opcode = IBV_WR_RDMA_WRITE,
		.send_flags = IBV_SEND_SIGNALED,
		.wr.rdma = { .remote_addr = 0, .rkey = c->peer_rkey },
	};

	c->next_keepalive_ns = now + KEEPALIVE_MS * 1000000ull;
	if (post_wr(c, &wr, false) == 0)
		c->keepalives++;
}

/*
 * 睡到有 CQE、有 rdma_cm 事件,或 ms 毫秒。先 ibv_req_notify_cq 要求通知,再看一次 CQ:
 * 要求之前就到的 CQE 不會產生事件,漏看的話會白睡一段。
 */
static int sleep_for_cqe(struct conn *c, int ms)
{
	struct pollfd pfd[2] = { { .fd = c->cc->fd, .events = POLLIN }, { .fd = c->ec->fd, .events = POLLIN } };
	struct ibv_cq *cq;
	void *ctx;
	int n;

	if (!c->armed) {
		if (ibv_req_notify_cq(c->cq, 0))
			return conn_err(c, "ibv_req_notify_cq 失敗");
		c->armed = true;
		n = poll_cq(c);
		if (n)
			return n;
	}
	if (poll(pfd, 2, ms) > 0 && (pfd[0].revents & POLLIN) && !ibv_get_cq_event(c->cc, &cq, &ctx)) {
		c->armed = false;
		if (++c->cq_unacked >= 64) {
			ibv_ack_cq_events(c->cq, c->cq_unacked);
			c->cq_unacked = 0;
		}
	}
	return poll_cq(c);
}

/*
 * 忙碌輪詢的名額:伺服器同時最多 spin_max 條連線忙碌輪詢(線上 CPU 數 − 1,至少 1),其他的
 * 睡在 completion channel 上(一樣被服務,只是延遲多了喚醒的時間)。沒有這個上限,幾個每 15 ms
 * 送一則小訊息的客戶端就能讓伺服器每條連線的執行緒都燒滿一顆 CPU;有了它,再多的客戶端也只能
 * 讓伺服器燒掉 spin_max 顆。名額在連線閒下來(改睡)或結束時歸還。客戶端(c->srv == NULL)不受限。
 */
static bool spin_allowed(struct conn *c)
{
	int n;

	if (!c->srv || c->spinning)
		return true;
	n = __atomic_load_n(&c->srv->spin_free, __ATOMIC_RELAXED);
	while (n > 0)
		if (__atomic_compare_exchange_n(&c->srv->spin_free, &n, n - 1, false, __ATOMIC_ACQUIRE,
						__ATOMIC_RELAXED))
			return c->spinning = true;
	return false;
}

static void spin_release(struct conn *c)
{
	if (c->spinning) {
		__atomic_add_fetch(&c->srv->spin_free, 1, __ATOMIC_RELEASE);
		c->spinning = false;
	}
}

/*
 * 等到 done(c, arg) 成立。每個等待都有期限:
 *   - 對方 PEER_IDLE_MS 沒有任何動靜(沒有收到訊息、沒有看到它寫進來的資料、我們的操作
 *     也沒有完成)就回傳 WAIT_IDLE;
 *   - 伺服器每 KEEPALIVE_MS 送一次 keepalive,對方主機消失時得到 CQE 錯誤(WAIT_FAILED);
 *   - 對方中斷連線(rdma_cm 的 DISCONNECTED)回傳 WAIT_GONE;SIGINT / SIGTERM 回傳 WAIT_STOPPED。
 * 忙碌輪詢只在對方最近 SPIN_MS 內有動靜、而且(伺服器)拿得到名額時進行(見 enum wake 與
 * spin_allowed()),否則睡在 completion channel 上。
 */
static enum wait_result wait_until(struct conn *c, cond_fn done, uint64_t arg, enum wake how)
{
	unsigned spins = 0;

	for (;;) {
		if (done(c, arg))
			return WAIT_OK;
		if (stop)
			return WAIT_STOPPED;
		int n = poll_cq(c);

		if (n < 0)
			return c->peer_gone ? WAIT_GONE : WAIT_FAILED;
		if (n > 0 || (++spins & 63))
			continue; /* 忙碌輪詢時每 64 圈才看一次時鐘 */

		uint64_t now = now_ns(), quiet = now - c->last_peer_ns;

		if (now >= c->next_cm_ns) {
			c->next_cm_ns = now + 100000000ull;
			check_cm(c);
			if (c->peer_gone && !done(c, arg) && poll_cq(c) == 0)
				return WAIT_GONE;
		}
		if (quiet > PEER_IDLE_MS * 1000000ull)
			return WAIT_IDLE;
		if (c->role == ROLE_SERVER && now >= c->next_keepalive_ns)
			send_keepalive(c, now);
		bool sleep = how == WAKE_CQE_SLEEP || quiet > SPIN_MS * 1000000ull ||
			     (how == WAKE_CQE_SPIN && c->event) || !spin_allowed(c);

		if (!sleep)
			continue;
		spin_release(c);
		if (sleep_for_cqe(c, how == WAKE_MEMORY ? 1 : 100) < 0)
			return c->peer_gone ? WAIT_GONE : WAIT_FAILED;
	}
}

/* 等待條件(給 wait_until) */
static bool sends_done(struct conn *c, uint64_t n)
{
	return c->completed >= n;
}

static bool have_text(struct conn *c, uint64_t unused)
{
	(void)unused;
	return c->got_text;
}

static bool have_done(struct conn *c, uint64_t unused)
{
	(void)unused;
	return c->got_done;
}

static bool have_ack(struct conn *c, uint64_t unused)
{
	(void)unused;
	return c->got_ack;
}

/* 伺服器:客戶端說結束了 —— 回 'A'(附驗證結果、這段期間伺服器執行緒的 CPU 與看到的操作數) */
static enum wait_result finish_session(struct conn *c, bool ok)
{
	uint64_t cpu = thread_cpu_ns() - c->cpu0;
	uint64_t ops = c->recvs ? c->recvs : c->done.a; /* 雙邊:自己數的;單邊:只能用客戶端的數字 */

	c->ack.a = cpu;
	c->ack.b = ops;
	if (post_ctrl(c, MSG_ACK, ok, cpu, ops))
		return WAIT_FAILED;
	return wait_until(c, sends_done, c->posted, WAKE_CQE_SLEEP);
}

/* ==== 第三部分:量測迴圈 ====================================================== */

static void record_sample(struct lat_stats *st, uint64_t i, uint64_t v);
static void report_lat(struct conn *c, struct lat_stats *st, uint64_t n, uint64_t wall, uint64_t cpu,
		       const char *status);
static void report_bw(struct conn *c, uint64_t n, uint64_t wall, uint64_t cpu, const char *status);
static int client_tick(struct conn *c, uint64_t t0, uint64_t done, uint64_t *last, uint64_t *next);

/* 對方 RDMA WRITE 進來的序號:視窗 slot 0 的最後一個位元組(acquire:看到它之後才讀其他位元組) */
static uint8_t window_flag(struct conn *c)
{
	return __atomic_load_n((uint8_t *)c->win + c->size - 1, __ATOMIC_ACQUIRE);
}

static bool got_recvs(struct conn *c, uint64_t n)
{
	return c->recvs >= n;
}

static bool flag_is(struct conn *c, uint64_t seq)
{
	return window_flag(c) == seq;
}

static bool recv_or_done(struct conn *c, uint64_t n)
{
	return c->recvs >= n || c->got_done;
}

static bool flag_or_done(struct conn *c, uint64_t seq)
{
	return window_flag(c) == seq || c->got_done;
}

/* 資料訊息:第一個位元組是 'D',其餘是可辨認的樣式 */
static void fill_data(struct conn *c)
{
	for (uint32_t i = 0; i < c->lay.nsend; i++) {
		char *p = c->local + (size_t)i * c->lay.slot;

		memset(p, 'a' + (int)(i % 26), c->lay.slot);
		p[0] = MSG_DATA;
	}
}

/* 客戶端說結束('E'),等伺服器確認('A',附伺服器的 CPU) */
static enum wait_result client_finish(struct conn *c, uint64_t ops, uint64_t cpu)
{
	c->sig_every = 1;
	if (post_ctrl(c, MSG_DONE, false, ops, cpu))
		return WAIT_FAILED;
	return wait_until(c, have_ack, 0, WAKE_CQE_SPIN);
}

/*
 * 延遲:send 與 write 是 ping-pong(對方收到才回),read 是一次一個 READ。
 * WRITE 的 ping-pong 沒有 CQE 可等(對方的 WRITE 不用掉我們的 RECV):輪詢視窗裡的序號;
 * --event 時改用 WRITE_WITH_IMM(會產生 CQE,所以能睡在 completion channel 上)。
 */
static int client_lat(struct conn *c)
{
	struct lat_stats st = { 0 };
	uint32_t size = c->size;
	uint64_t t0, c0, t_end, i, next, last = 0, t = 0;
	enum wait_result r = WAIT_OK;
	char why[WHY_LEN];

	st.cap = c->iters && c->iters < MAX_SAMPLES ? c->iters : MAX_SAMPLES;
	st.s = calloc(st.cap, sizeof(uint64_t));
	if (!st.s) {
		fprintf(stderr, "錯誤:配置延遲樣本陣列失敗\n");
		return -1;
	}
	fill_data(c);
	printf("延遲測試:%s%s,%u 位元組,%s,%s\n", op_names[c->op], c->use_imm ? "(WRITE_WITH_IMM)" : "", size,
	       c->duration ? "依時間" : "依次數", c->event ? "等待完成事件" : "忙碌輪詢");
	t0 = now_ns();
	c0 = process_cpu_ns();
	t_end = c->duration ? t0 + c->duration * 1000000000ull : UINT64_MAX;
	next = t0 + ALIVE_MS * 1000000ull;
	/* ping-pong 等的是對方的回應,不必每個 WR 都要 CQE;READ 等的就是自己的完成 */
	c->sig_every = c->op == OP_READ ? 1 : 16;
	for (i = 0; c->duration ? t < t_end : i < c->iters; i++) {
		uint64_t s = now_ns();
		uint8_t seq = (uint8_t)(i % 255 + 1);

		switch (c->op) {
		case OP_SEND:
			if (post_op(c, IBV_WR_SEND, sge_send(c, 0, size), 0, 0, true))
				r = WAIT_FAILED;
			else
				r = wait_until(c, got_recvs, i + 1, WAKE_CQE_SPIN);
			break;
		case OP_WRITE:
			c->local[size - 1] = (char)seq; /* 最後一個位元組是序號,對方看到它變了就回寫 */
			if (post_op(c, c->use_imm ? IBV_WR_RDMA_WRITE_WITH_IMM : IBV_WR_RDMA_WRITE,
				    sge_send(c, 0, size), 0, seq, true))
				r = WAIT_FAILED;
			else if (c->use_imm)
				r = wait_until(c, got_recvs, i + 1, WAKE_CQE_SPIN);
			else
				r = wait_until(c, flag_is, seq, WAKE_MEMORY);
			break;
		case OP_READ:
			if (post_op(c, IBV_WR_RDMA_READ, sge_win(c, 0, size), 0, 0, true))
				r = WAIT_FAILED;
			else
				r = wait_until(c, sends_done, c->posted, WAKE_CQE_SPIN);
			break;
		}
		if (r)
			break;
		t = now_ns();
		if (c->op == OP_WRITE && !c->use_imm)
			c->last_peer_ns = t; /* 看到對方寫進來的資料也算對方的動靜 */
		record_sample(&st, i, t - s);
		if (t >= next && client_tick(c, t0, i + 1, &last, &next)) {
			r = WAIT_FAILED;
			break;
		}
	}
	uint64_t wall = now_ns() - t0, cpu = process_cpu_ns() - c0;

	if (r) {
		fprintf(stderr, "錯誤:延遲測試在第 %" PRIu64 " 次中止:%s\n", i + 1, wait_text(c, r, why, sizeof(why)));
		report_lat(c, &st, i, wall, cpu, r == WAIT_STOPPED ? "interrupted" : "error");
		free(st.s);
		return -1;
	}
	if ((r = client_finish(c, i, cpu))) {
		fprintf(stderr, "錯誤:等待伺服器確認失敗:%s\n", wait_text(c, r, why, sizeof(why)));
		free(st.s);
		return -1;
	}
	report_lat(c, &st, i, wall, cpu, "ok");
	free(st.s);
	return 0;
}

/* 頻寬:可以再 post 一個資料工作請求了,或全部完成了 */
static bool bw_progress(struct conn *c, uint64_t target)
{
	return c->data_done >= target ||
	       (c->data_posted < target && c->data_posted - c->data_done < c->depth && have_credit(c, 0));
}

/*
 * 頻寬:維持 depth 個未完成的資料工作請求(send / write / read)。第 k 個用本地 slot 與
 * 對方視窗的 slot(k % depth);每 depth/4 個才要一個 CQE,最後一個一定要。
 */
static int client_bw(struct conn *c)
{
	enum ibv_wr_opcode opc = c->op == OP_SEND ? IBV_WR_SEND : c->op == OP_WRITE ? IBV_WR_RDMA_WRITE : IBV_WR_RDMA_READ;
	uint32_t every = c->depth >= 4 ? c->depth / 4 : 1;
	uint64_t target = c->duration ? UINT64_MAX : c->iters, t0, c0, t_end, next, last = 0;
	enum wait_result r = WAIT_OK;
	char why[WHY_LEN];

	c->data_ring = c->depth + 1;
	c->data_wrid = calloc(c->data_ring, sizeof(uint64_t));
	if (!c->data_wrid) {
		fprintf(stderr, "錯誤:配置記憶體失敗\n");
		return -1;
	}
	fill_data(c);
	printf("頻寬測試:%s,%u 位元組,%s,佇列深度 %u,%s\n", op_names[c->op], c->size,
	       c->duration ? "依時間" : "依次數", c->depth, c->event ? "等待完成事件" : "忙碌輪詢");
	t0 = now_ns();
	c0 = process_cpu_ns();
	t_end = c->duration ? t0 + c->duration * 1000000000ull : UINT64_MAX;
	next = t0 + ALIVE_MS * 1000000ull;
	while (c->data_done < target) {
		while (c->data_posted < target && c->data_posted - c->data_done < c->depth && have_credit(c, 0)) {
			uint64_t k = c->data_posted;
			uint32_t s = (uint32_t)(k % c->depth);
			bool final = c->duration ? now_ns() >= t_end : k + 1 == target;
			struct ibv_sge sge = c->op == OP_READ ? sge_win(c, s, c->size) : sge_send(c, s, c->size);

			if (final)
				target = k + 1; /* 最後一個:一定要求 CQE,否則不知道它何時完成 */
			c->sig_every = final ? 1 : every;
			if (post_op(c, opc, sge, (uint64_t)s * c->lay.slot, 0, true)) {
				r = WAIT_FAILED;
				goto out;
			}
			c->data_wrid[k % c->data_ring] = c->posted - 1;
			c->data_posted++;
		}
		if ((r = wait_until(c, bw_progress, target, WAKE_CQE_SPIN)))
			break;
		uint64_t t = now_ns();

		if (t >= next && client_tick(c, t0, c->data_done, &last, &next)) {
			r = WAIT_FAILED;
			break;
		}
	}
out:;
	uint64_t wall = now_ns() - t0, cpu = process_cpu_ns() - c0, n = c->data_done;

	if (r) {
		fprintf(stderr, "錯誤:頻寬測試中止:%s\n", wait_text(c, r, why, sizeof(why)));
		report_bw(c, n, wall, cpu, r == WAIT_STOPPED ? "interrupted" : "error");
		return -1;
	}
	if ((r = client_finish(c, n, cpu))) {
		fprintf(stderr, "錯誤:等待伺服器確認失敗:%s\n", wait_text(c, r, why, sizeof(why)));
		return -1;
	}
	report_bw(c, n, wall, cpu, "ok");
	return 0;
}

/*
 * 伺服器的延遲測試:send 與 write 時收到一個就回一個(對方活躍時忙碌輪詢,閒下來就睡);
 * read 時伺服器什麼都不用做,睡著等結束訊號。
 */
static enum wait_result serve_lat(struct conn *c)
{
	bool by_cqe = c->op == OP_SEND || c->use_imm;
	enum wait_result r = WAIT_OK;

	if (c->op == OP_WRITE && !c->use_imm && c->event)
		conn_note(c, "對方的 WRITE 不產生 CQE(沒有 immediate data):伺服器只能輪詢記憶體,--event 不適用");
	if (c->op == OP_READ) {
		r = wait_until(c, have_done, 0, WAKE_CQE_SLEEP);
		return r ? r : finish_session(c, true);
	}
	fill_data(c);
	c->sig_every = 16;
	for (uint64_t i = 0;; i++) {
		uint8_t seq = (uint8_t)(i % 255 + 1);

		if (by_cqe)
			r = wait_until(c, recv_or_done, i + 1, WAKE_CQE_SPIN);
		else
			r = wait_until(c, flag_or_done, seq, WAKE_MEMORY);
		if (r)
			break;
		if (by_cqe ? c->recvs < i + 1 : window_flag(c) != seq)
			break; /* 客戶端說結束了 */
		if (!by_cqe) {
			c->recvs++;
			c->last_peer_ns = now_ns();
			publish(c, c->recvs, c->recvs * c->size);
		}
		if (c->op == OP_SEND) {
			if (post_op(c, IBV_WR_SEND, sge_send(c, 0, c->size), 0, 0, true))
				return WAIT_FAILED;
		} else {
			c->local[c->size - 1] = (char)seq;
			if (post_op(c, c->use_imm ? IBV_WR_RDMA_WRITE_WITH_IMM : IBV_WR_RDMA_WRITE,
				    sge_send(c, 0, c->size), 0, seq, true))
				return WAIT_FAILED;
		}
	}
	c->sig_every = 1;
	if (r)
		return r;
	return finish_session(c, c->recvs == c->done.a);
}

/*
 * 伺服器的頻寬測試:SEND 時伺服器的 CPU 要收每一則、把 RECV 補回去、回報 credit;
 * WRITE / READ 時網卡直接存取視窗,伺服器睡著等結束訊號(每秒 keepalive)。
 */
static enum wait_result serve_bw(struct conn *c)
{
	enum wait_result r = wait_until(c, have_done, 0, c->op == OP_SEND ? WAKE_CQE_SPIN : WAKE_CQE_SLEEP);

	if (r)
		return r;
	if (c->op == OP_SEND)
		printf("%s收到 %" PRIu64 " 則 SEND,%.2f MB\n", c->tag, c->recvs, c->recv_bytes / 1048576.0);
	return finish_session(c, c->op != OP_SEND || c->recvs == c->done.a);
}

/* ==== 第四部分:統計 ========================================================== */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* 以千分位格式化整數(VM 裡沒有 locale,不能靠 printf 的 ' 旗標) */
static const char *commas(uint64_t v, char *out, size_t len)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%" PRIu64, v);
	size_t j = 0;

	for (int i = 0; i < n && j + 2 < len; i++) {
		out[j++] = tmp[i];
		if ((n - i - 1) % 3 == 0 && i != n - 1)
			out[j++] = ',';
	}
	out[j] = '\0';
	return out;
}

/* 記下第 i 個延遲樣本(超過容量時 reservoir sampling,樣本仍是均勻的) */
static void record_sample(struct lat_stats *st, uint64_t i, uint64_t v)
{
	if (i == 0 || v < st->min)
		st->min = v;
	if (v > st->max)
		st->max = v;
	st->sum += (double)v;
	if (i < st->cap) {
		st->s[i] = v;
	} else {
		uint64_t j = ((uint64_t)random() << 31 | (uint64_t)random()) % (i + 1);

		if (j < st->cap)
			st->s[j] = v;
	}
}

/* 客戶端每秒一次:印進度,並用 'L' 訊息告訴伺服器(伺服器看不到單邊操作,也靠它知道我們還活著) */
static int client_tick(struct conn *c, uint64_t t0, uint64_t done, uint64_t *last, uint64_t *next)
{
	uint64_t t = now_ns();
	char a[32], b[32];

	printf("[%3.0f 秒] 已完成 %s 次,%s 次/秒\n", (double)(t - t0) / 1e9, commas(done, a, sizeof(a)),
	       commas(done - *last, b, sizeof(b)));
	*last = done;
	*next = t + ALIVE_MS * 1000000ull;
	return post_ctrl(c, MSG_ALIVE, false, done, done * c->size);
}

/* 伺服器那一側的 CPU(伺服器在 'A' 裡告訴我們) */
static void print_server_cpu(struct conn *c, uint64_t n, double *per)
{
	*per = c->got_ack && n ? (double)c->ack.a / n : -1;
	if (*per < 0)
		return;
	printf("  伺服器 CPU:%.2f ms,每次 %.0f ns(服務這個連線的執行緒;%s)\n", c->ack.a / 1e6, *per,
	       c->op == OP_SEND			      ? "雙邊:伺服器要收每一則、補 RECV"
	       : c->test == TEST_LAT && c->op == OP_WRITE ? "WRITE ping-pong:伺服器輪詢記憶體並回寫"
							  : "單邊:伺服器只等結束訊號");
}

static void report_lat(struct conn *c, struct lat_stats *st, uint64_t n, uint64_t wall, uint64_t cpu,
		       const char *status)
{
	bool halve = c->op != OP_READ;
	uint64_t k = n < st->cap ? n : st->cap;
	double div = halve ? 2000.0 : 1000.0, srv;

	if (n == 0) {
		printf("SUMMARY role=client test=lat op=%s size=%u iters=0 event=%d status=%s\n", op_names[c->op],
		       c->size, c->event, status);
		return;
	}
	qsort(st->s, k, sizeof(*st->s), cmp_u64);
	double mn = st->min / div, p50 = st->s[k / 2] / div, p99 = st->s[k * 99 / 100] / div;
	double mx = st->max / div, avg = st->sum / n / div;
	double per = (double)cpu / n, pct = wall ? 100.0 * cpu / wall : 0;

	printf("延遲(%s,%u 位元組,%" PRIu64 " 次,%s):\n", op_names[c->op], c->size, n,
	       halve ? "單程 = 來回 / 2,同 perftest" : "一次 READ 的完整來回");
	printf("  最小 %.2f µs、p50(典型)%.2f µs、p99 %.2f µs、最大 %.2f µs、平均 %.2f µs\n", mn, p50, p99, mx,
	       avg);
	printf("  客戶端 CPU:%.1f ms(%.0f%%,%s),每次 %.0f ns\n", cpu / 1e6, pct,
	       c->event ? "等待完成事件" : "忙碌輪詢", per);
	print_server_cpu(c, n, &srv);
	printf("SUMMARY role=client test=lat op=%s size=%u iters=%" PRIu64 " event=%d imm=%d min_us=%.2f p50_us=%.2f "
	       "p99_us=%.2f max_us=%.2f avg_us=%.2f cpu_ns=%.0f cpu_pct=%.0f server_cpu_ns=%.0f status=%s\n",
	       op_names[c->op], c->size, n, c->event, c->use_imm, mn, p50, p99, mx, avg, per, pct, srv, status);
}

static void report_bw(struct conn *c, uint64_t n, uint64_t wall, uint64_t cpu, const char *status)
{
	double secs = wall / 1e9, bytes = (double)n * c->size;
	double mbps = secs > 0 ? bytes / secs / 1048576.0 : 0, gbps = secs > 0 ? bytes * 8 / secs / 1e9 : 0;
	double rate = secs > 0 ? n / secs : 0, per = n ? (double)cpu / n : 0;
	double pct = wall ? 100.0 * cpu / wall : 0, srv;
	char a[32];

	printf("頻寬(%s,%u 位元組,%" PRIu64 " 次,佇列深度 %u):%.2f MB/s(%.3f Gb/s),%s 次/秒\n", op_names[c->op],
	       c->size, n, c->depth, mbps, gbps, commas((uint64_t)rate, a, sizeof(a)));
	printf("  客戶端 CPU:%.1f ms(%.0f%%,%s),每次 %.0f ns\n", cpu / 1e6, pct,
	       c->event ? "等待完成事件" : "忙碌輪詢", per);
	print_server_cpu(c, n, &srv);
	if (c->got_ack && !c->ack.flag)
		printf("  警告:伺服器收到的數量(%" PRIu64 ")和送出的(%" PRIu64 ")不同\n", c->ack.b, n);
	printf("SUMMARY role=client test=bw op=%s size=%u iters=%" PRIu64 " depth=%u event=%d mbps=%.2f gbps=%.3f "
	       "msg_rate=%.0f cpu_ns=%.0f cpu_pct=%.0f server_cpu_ns=%.0f status=%s\n",
	       op_names[c->op], c->size, n, c->depth, c->event, mbps, gbps, rate, per, pct, srv, status);
}

/* 伺服器:一個客戶端結束時的一段總結(兩側的 CPU),以及機器可讀的 CLIENT 行 */
static void report_session(struct conn *c, enum wait_result r, uint64_t t0)
{
	double secs = (now_ns() - t0) / 1e9, idle = (now_ns() - c->last_peer_ns) / 1e9;
	char why[WHY_LEN];

	if (r == WAIT_OK) {
		double cpu = (double)c->ack.a, ops = (double)c->done.a;

		printf("%s完成(%.2f 秒):%" PRIu64 " 次操作;伺服器 CPU %.2f ms(每次 %.0f ns),"
		       "客戶端 CPU %.2f ms(每次 %.0f ns,客戶端回報)\n",
		       c->tag, secs, c->done.a, cpu / 1e6, ops ? cpu / ops : 0, c->done.b / 1e6,
		       ops ? c->done.b / ops : 0);
		printf("CLIENT id=%" PRIu64 " test=%s op=%s size=%u ops=%" PRIu64 " secs=%.2f server_cpu_ns=%.0f "
		       "client_cpu_ns=%" PRIu64 " keepalives=%" PRIu64 " status=ok\n",
		       c->num, test_names[c->test], op_names[c->op], c->size, c->done.a, secs, cpu, c->done.b,
		       c->keepalives);
		return;
	}
	const char *reason = r == WAIT_IDLE	  ? "idle"
			     : r == WAIT_GONE	  ? "disconnected"
			     : r == WAIT_STOPPED ? "stopped"
			     : strstr(c->why, "keepalive") ? "keepalive"
			     : c->violation		     ? "protocol"
							     : "error";

	printf("%s中途離線或出錯:%s;最後一次看到對方動靜是 %.1f 秒前;已釋放它的資源(%.1f MiB)\n", c->tag,
	       wait_text(c, r, why, sizeof(why)), idle, c->need / 1048576.0);
	printf("CLIENT id=%" PRIu64 " test=%s op=%s status=lost reason=%s idle_s=%.1f keepalives=%" PRIu64 "\n",
	       c->num, test_names[c->test], op_names[c->op], reason, idle, c->keepalives);
}

/* 伺服器每秒一行:連線數、每秒操作數與 MB/s(單邊操作是客戶端回報的)、伺服器 CPU %、記憶體 */
static void server_tick(struct server *s, uint64_t t0, uint64_t *last_ops, uint64_t *last_bytes,
			uint64_t *last_cpu, uint64_t *last_t)
{
	uint64_t ops = s->retired_ops, bytes = s->retired_bytes, t = now_ns(), cpu = process_cpu_ns(), mem;
	uint32_t active;
	char a[32];

	for (struct conn *c = s->conns; c; c = c->next) {
		ops += __atomic_load_n(&c->st_ops, __ATOMIC_RELAXED);
		bytes += __atomic_load_n(&c->st_bytes, __ATOMIC_RELAXED);
	}
	pthread_mutex_lock(&s->lock);
	active = s->active;
	mem = s->mem_used;
	pthread_mutex_unlock(&s->lock);
	if (active || ops != *last_ops) {
		double dt = (t - *last_t) / 1e9;

		printf("[統計 %3.0f 秒] 連線 %u 個|%s 次操作/秒|%.2f MB/s|伺服器 CPU %.0f%%|註冊記憶體 %.1f MiB\n",
		       (t - t0) / 1e9, active, commas((uint64_t)((ops - *last_ops) / dt), a, sizeof(a)),
		       (bytes - *last_bytes) / dt / 1048576.0, 100.0 * (cpu - *last_cpu) / (t - *last_t),
		       mem / 1048576.0);
	}
	*last_ops = ops;
	*last_bytes = bytes;
	*last_cpu = cpu;
	*last_t = t;
}

/* ==== 第五部分:小工具、記憶體配置、裝置診斷、選項與說明 ======================= */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* 這個執行緒用掉的 CPU(伺服器:正好是服務一個客戶端的成本) */
static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t process_cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ull +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ull;
}

static void *map_zeroed(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? NULL : p;
}

/* 記下這條連線失敗的原因(由呼叫者決定何時印出),回傳 -1 */
static int conn_err(struct conn *c, const char *fmt, ...)
{
	va_list ap;

	c->err = errno;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->failed = true;
	return -1;
}

static void conn_note(struct conn *c, const char *fmt, ...)
{
	char line[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("%s%s\n", c->tag, line);
}

static size_t page_up(size_t n)
{
	size_t p = (size_t)sysconf(_SC_PAGESIZE);

	return (n + p - 1) / p * p;
}

/*
 * 一側要註冊的記憶體(見 struct layout)。n = 同時在路上的資料訊息數(bw 是深度,其他是 1)。
 *   伺服器:SEND 測試要 2n(lat:4)個放得下一則資料的 RECV,加上控制訊息的;
 *           WRITE / READ 測試只要 n 個 slot 的視窗(遠端權限剛好是那一種);
 *           延遲測試另有一個回應用的送出 slot。
 *   客戶端:送出來源 n 個 slot(send / write),視窗是 READ 的目的地或 WRITE 回應的落點,
 *           至少 64 位元組(keepalive 的目標)。
 */
static void plan_layout(struct layout *l, enum role who, enum test t, enum op op, uint32_t size,
			uint32_t depth)
{
	bool srv = who == ROLE_SERVER;
	uint32_t n = t == TEST_BW ? depth : 1;

	memset(l, 0, sizeof(*l));
	l->slot = t == TEST_DEMO ? DEMO_SLOT : (size + 63u) & ~63u;
	l->rslot = CTRL_SLOT;
	l->nrecv = CTRL_RECVS;
	if (t == TEST_DEMO) {
		l->rslot = DEMO_SLOT;	/* 問候與回覆的文字 */
		l->nsend = srv ? 1 : 2; /* 回覆;問候 + WRITE 的來源 */
		l->nwin = 1;
		l->win_access = IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ;
	} else if (op == OP_SEND) {
		if (srv || t == TEST_LAT) { /* 收資料的一側:每個 RECV 都要放得下一則資料 */
			l->rslot = l->slot > CTRL_SLOT ? l->slot : CTRL_SLOT;
			l->nrecv = (srv ? (t == TEST_LAT ? 4 : 2 * n) : 1) + CTRL_EXTRA;
		}
		l->nsend = srv ? (t == TEST_LAT) : n;
	} else if (op == OP_WRITE) {
		l->nsend = srv ? (t == TEST_LAT) : n;
		l->nwin = srv ? n : (t == TEST_LAT);
		l->win_access = IBV_ACCESS_REMOTE_WRITE;
	} else {
		l->nwin = n;
		l->win_access = IBV_ACCESS_REMOTE_READ;
	}
	if (!srv)
		l->win_access = IBV_ACCESS_REMOTE_WRITE; /* 客戶端視窗:伺服器的回寫與 keepalive */
	if (srv)
		l->sq = (t == TEST_LAT && op != OP_READ) || t == TEST_DEMO; /* 回應 / 回覆 */
	else
		l->sq = t == TEST_DEMO ? 2 : n;
	l->sq += CTRL_RING + 4; /* 控制訊息與 keepalive */
	l->ctrl_off = (size_t)l->nsend * l->slot;
	l->recv_off = l->ctrl_off + (size_t)CTRL_RING * CTRL_SLOT;
	l->local_len = page_up(l->recv_off + (size_t)l->nrecv * l->rslot);
	l->win_bytes = (size_t)l->nwin * l->slot;
	if (!srv && l->win_bytes < CTRL_SLOT)
		l->win_bytes = CTRL_SLOT;
	l->win_map = l->win_bytes ? page_up(l->win_bytes) : 0;
}

/* 深度不超過裝置能給的:送出佇列 n + 20、接收佇列 2n + 4、CQ 兩者之和 */
static uint32_t clamp_depth(struct ibv_context *dev, uint32_t depth)
{
	struct ibv_device_attr a;
	uint32_t max = MAX_DEPTH;

	if (!ibv_query_device(dev, &a)) {
		if (a.max_qp_wr > 2 * CTRL_RING && (uint32_t)(a.max_qp_wr - 2 * CTRL_RING) / 2 < max)
			max = (uint32_t)(a.max_qp_wr - 2 * CTRL_RING) / 2;
		if (a.max_cqe > 64 && (uint32_t)(a.max_cqe - 64) / 3 < max)
			max = (uint32_t)(a.max_cqe - 64) / 3;
	}
	return depth < max ? depth : max ? max : 1;
}

static void reg_mr_hint(struct conn *c, size_t len, int e)
{
	struct rlimit rl;
	size_t need = c->lay.local_len + c->lay.win_map;

	getrlimit(RLIMIT_MEMLOCK, &rl);
	errno = e; /* conn_err 記下它 */
	if ((e == ENOMEM || e == EPERM || e == EAGAIN) && rl.rlim_cur != RLIM_INFINITY)
		conn_err(c, "ibv_reg_mr(%zu 位元組)失敗:%s。提示:可鎖定的記憶體上限(ulimit -l)太低:目前 %llu KiB,"
			 "這條連線需要至少 %zu KiB。請執行 ulimit -l unlimited(或在 /etc/security/limits.conf 設定 "
			 "memlock),或改以 root 執行,或減少 --size / --depth", len, strerror(e),
			 (unsigned long long)rl.rlim_cur / 1024, need / 1024 + 64);
	else if (e == ENOMEM)
		conn_err(c, "ibv_reg_mr(%zu 位元組)失敗:%s。提示:記憶體不足,試著用較小的 --size 或 --depth", len,
			 strerror(e));
	else
		conn_err(c, "ibv_reg_mr(%zu 位元組)失敗:%s", len, strerror(e));
}

static const char *access_str(int a)
{
	switch (a & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)) {
	case IBV_ACCESS_REMOTE_WRITE: return "只有 REMOTE_WRITE";
	case IBV_ACCESS_REMOTE_READ: return "只有 REMOTE_READ";
	case IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ: return "REMOTE_WRITE|REMOTE_READ";
	default: return "沒有遠端權限";
	}
}

/* 印出這條連線註冊的兩個 MR 與權限(lkey 只在本地有意義,印出來無妨) */
static void print_memory(struct conn *c)
{
	char win[160] = "沒有視窗(這個測試不開放任何遠端存取)";

	if (c->win_mr)
		snprintf(win, sizeof(win), "視窗 MR %zu 位元組(iova 0,%s,rkey 0x%x)", c->lay.win_bytes,
			 access_str(c->lay.win_access), c->win_mr->rkey);
	printf("%s記憶體 %.1f KiB:本地 MR %zu 位元組(送出 + 控制 + 接收,只有 LOCAL_WRITE:lkey 0x%x,"
	       "rkey 0x%x 對遠端無效)、%s\n",
	       c->tag, (c->lay.local_len + c->lay.win_map) / 1024.0, c->lay.local_len, c->local_mr->lkey,
	       c->local_mr->rkey, win);
}

static const char *gid_type_str(uint32_t t)
{
	return t == IBV_GID_TYPE_ROCE_V2 ? "RoCE v2(UDP 4791)" : t == IBV_GID_TYPE_ROCE_V1 ? "RoCE v1" : "IB";
}

static const char *mtu_str(enum ibv_mtu m)
{
	static const char *const s[] = { "?", "256", "512", "1024", "2048", "4096" };

	return m >= IBV_MTU_256 && m <= IBV_MTU_4096 ? s[m] : "?";
}

/*
 * 連線建立後,從 QP 本身查出實際使用的路徑:本地 GID index、GID、類型(RoCE v1 / v2)、
 * traffic class、path MTU,以及 ACK 逾時與重試設定 —— 這才是真相,不是我們猜的。
 */
static void print_path(struct conn *c)
{
	struct ibv_qp_attr a;
	struct ibv_qp_init_attr ia;
	struct ibv_gid_entry e;
	char g[INET6_ADDRSTRLEN] = "?";
	int mask = IBV_QP_AV | IBV_QP_PATH_MTU | IBV_QP_TIMEOUT | IBV_QP_RETRY_CNT | IBV_QP_RNR_RETRY |
		   IBV_QP_MIN_RNR_TIMER;

	if (ibv_query_qp(c->id->qp, &a, mask, &ia)) {
		printf("%s路徑:無法查詢 QP(ibv_query_qp:%s)\n", c->tag, strerror(errno));
		return;
	}
	if (!a.ah_attr.is_global) {
		printf("%s路徑:InfiniBand,對方 LID 0x%x(沒有 GRH),path MTU %s\n", c->tag, a.ah_attr.dlid,
		       mtu_str(a.path_mtu));
		return;
	}
	uint8_t idx = a.ah_attr.grh.sgid_index;
	bool have = !ibv_query_gid_ex(c->id->verbs, c->id->port_num, idx, &e, 0);

	if (have)
		inet_ntop(AF_INET6, e.gid.raw, g, sizeof(g));
	printf("%s路徑:本地 GID index %u = %s(%s),traffic class %u,path MTU %s;ACK 逾時 %.0f ms × 重試 %u 次,"
	       "RNR 重試 %u 次\n",
	       c->tag, idx, g, have ? gid_type_str(e.gid_type) : "類型不明", a.ah_attr.grh.traffic_class,
	       mtu_str(a.path_mtu), a.timeout ? 4.096e-3 * (1u << a.timeout) : 0.0, a.retry_cnt, a.rnr_retry);
	if (c->cfg->gid_index >= 0 && idx != c->cfg->gid_index)
		printf("%s注意:rdma_cm 用的是 GID index %u,不是 --gid-index %d:它依 IP 位址與預設的 RoCE 類型"
		       "(/sys/kernel/config/rdma_cm/<裝置>/ports/<埠>/default_roce_mode)選 GID\n",
		       c->tag, idx, c->cfg->gid_index);
}

/* 印出使用中的裝置:名稱、傳輸(InfiniBand / RoCE)、埠狀態、active MTU */
static void print_device(struct ibv_context *dev, uint8_t port, uint32_t size)
{
	struct ibv_port_attr pa;
	uint32_t mtu;

	if (ibv_query_port(dev, port, &pa)) {
		printf("裝置:%s(無法查詢埠 %u:%s)\n", ibv_get_device_name(dev->device), port, strerror(errno));
		return;
	}
	mtu = pa.active_mtu >= IBV_MTU_256 && pa.active_mtu <= IBV_MTU_4096 ? 128u << pa.active_mtu : 0;
	printf("裝置:%s 埠 %u,傳輸 %s,狀態 %s,active MTU %s,GID 表 %d 項\n", ibv_get_device_name(dev->device), port,
	       pa.link_layer == IBV_LINK_LAYER_ETHERNET ? "RoCE(乙太網路上的 RDMA)" : "InfiniBand",
	       ibv_port_state_str(pa.state), mtu_str(pa.active_mtu), pa.gid_tbl_len);
	if (pa.state != IBV_PORT_ACTIVE)
		printf("警告:埠不是 ACTIVE,連線可能失敗(檢查網路介面是否 up)\n");
	if (mtu && size > mtu)
		printf("提示:訊息 %u 位元組大於路徑 MTU %u:RC 會自動切成多個封包(UD 就不行)\n", size, mtu);
}

/* GID 轉成可以 bind 的位址:::ffff:a.b.c.d 是 IPv4;link-local 的 IPv6 要介面編號 */
static bool gid_to_addr(const struct ibv_gid_entry *e, struct sockaddr_storage *ss)
{
	static const uint8_t v4map[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t zero[16];

	memset(ss, 0, sizeof(*ss));
	if (!memcmp(e->gid.raw, v4map, 12)) {
		struct sockaddr_in *sin = (struct sockaddr_in *)ss;

		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, &e->gid.raw[12], 4);
		return true;
	}
	if (!memcmp(e->gid.raw, zero, 16))
		return false;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;

	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, e->gid.raw, 16);
	if (IN6_IS_ADDR_LINKLOCAL(&sin6->sin6_addr))
		sin6->sin6_scope_id = e->ndev_ifindex;
	return true;
}

/*
 * 從裝置的 GID 表找本地位址:查遍每個埠的整張表。want >= 0 時用第 want 項(第一個有它的埠);
 * 否則優先 IPv4 的 RoCE v2,其次任何 IPv4,最後 IPv6。
 */
static int pick_gid(struct ibv_context *dev, int want, struct sockaddr_storage *ss, char *desc, size_t dlen)
{
	struct ibv_device_attr da;
	int best = 0;

	if (ibv_query_device(dev, &da))
		return -1;
	for (uint8_t port = 1; port <= da.phys_port_cnt; port++) {
		struct ibv_port_attr pa;

		if (ibv_query_port(dev, port, &pa))
			continue;
		for (int i = want >= 0 ? want : 0; i < pa.gid_tbl_len && (want < 0 || i == want); i++) {
			struct ibv_gid_entry e;
			struct sockaddr_storage tmp;
			int score;

			if (ibv_query_gid_ex(dev, port, (uint32_t)i, &e, 0) || !gid_to_addr(&e, &tmp))
				continue;
			score = want >= 0 ? 4 : tmp.ss_family == AF_INET ? (e.gid_type == IBV_GID_TYPE_ROCE_V2 ? 3 : 2) : 1;
			if (score > best) {
				best = score;
				*ss = tmp;
				snprintf(desc, dlen, "埠 %u 的 GID index %d(%s)", port, i, gid_type_str(e.gid_type));
			}
			if (score >= 3)
				return 0;
		}
	}
	return best ? 0 : -1;
}

/* 檢查有沒有 RDMA 裝置;--device / --gid-index 時順便從 GID 表找出本地位址 */
static int check_devices(const struct config *cfg, struct sockaddr_storage *local, bool *have_local)
{
	struct ibv_device **list;
	struct ibv_device *pick = NULL;
	int n = 0, ret = -1;

	*have_local = false;
	list = ibv_get_device_list(&n);
	if (!list || n == 0) {
		fprintf(stderr,
			"錯誤:找不到任何 RDMA 裝置(ibv_get_device_list 是空的)。\n"
			"提示:沒有 RDMA 網卡時可建立 Soft-RoCE:sudo modprobe rdma_rxe && "
			"sudo rdma link add rxe0 type rxe netdev eth0(eth0 換成你的網路介面);\n"
			"      核心沒有 RDMA(沒有 rdma_rxe 模組)時,用套件的 VM:make rdma-vm\n");
		if (list)
			ibv_free_device_list(list);
		return -1;
	}
	printf("RDMA 裝置:");
	for (int i = 0; i < n; i++) {
		printf("%s%s", i ? "、" : "", ibv_get_device_name(list[i]));
		if (cfg->device && !strcmp(cfg->device, ibv_get_device_name(list[i])))
			pick = list[i];
	}
	printf("\n");
	if (cfg->device && !pick) {
		fprintf(stderr, "錯誤:沒有名為 %s 的 RDMA 裝置(ibv_devices 列出可用的裝置)\n", cfg->device);
		goto out;
	}
	if (!pick)
		pick = list[0];
	if (!cfg->bind_addr && (cfg->device || cfg->gid_index >= 0)) {
		/* rdma_cm 依 IP 位址選擇裝置:從該裝置的 GID 表找一個位址來綁定 */
		struct ibv_context *dev = ibv_open_device(pick);
		char desc[96], ip[INET6_ADDRSTRLEN];

		if (!dev) {
			fprintf(stderr, "錯誤:ibv_open_device(%s) 失敗:%s\n", ibv_get_device_name(pick), strerror(errno));
			goto out;
		}
		*have_local = !pick_gid(dev, cfg->gid_index, local, desc, sizeof(desc));
		ibv_close_device(dev);
		if (!*have_local) {
			if (cfg->gid_index >= 0)
				fprintf(stderr, "錯誤:%s 的 GID 表(所有埠)沒有第 %d 項,或那一項沒有位址;"
					"ibv_devinfo -v 可看 GID 表(rxe 上 IPv4 位址通常在 1)\n",
					ibv_get_device_name(pick), cfg->gid_index);
			else
				fprintf(stderr, "錯誤:%s 的 GID 表沒有任何位址;請確認它的網路介面有 IP,或用 --bind 指定\n",
					ibv_get_device_name(pick));
			goto out;
		}
		printf("本地位址:%s,取自 %s %s\n", addr_str((struct sockaddr *)local, ip, sizeof(ip)),
		       ibv_get_device_name(pick), desc);
	}
	ret = 0;
out:
	ibv_free_device_list(list);
	return ret;
}

/* 位址解析:127.0.0.0/8 與 ::1 在 rdma_cm 上不能用,先擋下來 */
static int parse_addr(const char *host, int port, struct sockaddr_storage *ss, const char *what)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res;
	char portstr[16];
	int ret;

	snprintf(portstr, sizeof(portstr), "%d", port);
	ret = getaddrinfo(host, portstr, &hints, &res);
	if (ret) {
		fprintf(stderr, "錯誤:無法解析%s「%s」:%s(請給 IPv4 位址,例如 10.0.2.15)\n", what, host,
			gai_strerror(ret));
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	freeaddrinfo(res);
	if ((ss->ss_family == AF_INET && (ntohl(((struct sockaddr_in *)ss)->sin_addr.s_addr) >> 24) == 127) ||
	    (ss->ss_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ss)->sin6_addr))) {
		fprintf(stderr, "錯誤:%s「%s」是 loopback,rdma_cm 不能用:RDMA 裝置綁在實體(或 rxe 所在的)"
			"網路介面上。請改用該介面的 IP(ip -4 addr show eth0),同一台機器也一樣\n", what, host);
		return -1;
	}
	return 0;
}

static const char *addr_str(const struct sockaddr *sa, char *buf, size_t len)
{
	const void *a = sa->sa_family == AF_INET6 ? (const void *)&((const struct sockaddr_in6 *)sa)->sin6_addr
						 : (const void *)&((const struct sockaddr_in *)sa)->sin_addr;

	if (!inet_ntop(sa->sa_family, a, buf, len))
		snprintf(buf, len, "?");
	return buf;
}

/* 等下一個 rdma_cm 事件,最多 timeout_ms;逾時回傳 NULL 且 errno = ETIMEDOUT,被中斷則 EINTR */
static struct rdma_cm_event *get_event(struct rdma_event_channel *ec, int timeout_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)timeout_ms * 1000000ull;
	struct rdma_cm_event *ev;

	for (;;) {
		if (!rdma_get_cm_event(ec, &ev))
			return ev;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return NULL;
		if (stop) {
			errno = EINTR;
			return NULL;
		}
		uint64_t t = now_ns();

		if (t >= deadline) {
			errno = ETIMEDOUT;
			return NULL;
		}
		struct pollfd pfd = { .fd = ec->fd, .events = POLLIN };
		int wait = (int)((deadline - t) / 1000000) + 1;

		poll(&pfd, 1, wait < 200 ? wait : 200);
	}
}

static void explain_refusal(const struct config *cfg, const struct refusal *r)
{
	static const char *const bad[] = {
		"?", "不是本程式的協定", "協定版本不同", "不認得的測試種類或操作", "訊息大小超出範圍",
		"深度超出範圍", "次數或秒數超出範圍", "客戶端視窗太小",
		"連線要求的重試次數是 7(伺服器的 QP 會照用,7 代表無限重試;請用 0-6)",
	};

	switch (r->reason) {
	case REFUSE_BUSY:
		fprintf(stderr, "錯誤:伺服器 %s:%d 忙碌中:已經在服務 %u 個客戶端(它的 --max-clients 上限),"
			"拒絕了這次連線;請稍後再試\n", cfg->server, cfg->port, ntohl(r->limit));
		break;
	case REFUSE_MEM:
		fprintf(stderr, "錯誤:伺服器記憶體不足,拒絕了這次連線:這個要求需要 %.1f MiB,伺服器已用 %.1f MiB,"
			"上限 %.1f MiB(--max-mem)。請用較小的 --size 或 --depth\n", ntohl(r->need) / 1024.0,
			ntohl(r->used) / 1024.0, ntohl(r->limit) / 1024.0);
		break;
	case REFUSE_SERVER:
		fprintf(stderr, "錯誤:伺服器無法為這次連線配置資源(它那一端的 %s),拒絕了連線:這個要求需要 %.1f MiB,"
			"在它的 --max-mem 之內,問題在伺服器(例如它的 ulimit -l 太低);請通知伺服器的管理者\n",
			r->detail ? strerror(r->detail) : "錯誤", ntohl(r->need) / 1024.0);
		break;
	default:
		fprintf(stderr, "錯誤:伺服器認為參數不合理,拒絕了這次連線:%s\n",
			r->detail < sizeof(bad) / sizeof(bad[0]) ? bad[r->detail] : "?");
	}
}

/* 等一個特定的 rdma_cm 事件;把錯誤事件翻成中文說明 */
static int expect_event(struct conn *c, enum rdma_cm_event_type want, uint64_t deadline, void *pdata, size_t plen)
{
	const struct config *cfg = c->cfg;
	bool client = c->role == ROLE_CLIENT;
	int64_t left = ((int64_t)deadline - (int64_t)now_ns()) / 1000000;
	struct rdma_cm_event *ev = get_event(c->ec, left > 0 ? (int)left : 0);
	struct refusal rf;

	if (!ev) {
		if (errno == ETIMEDOUT && client)
			fprintf(stderr, "錯誤:無法在 %d 秒內連上伺服器 %s:%d(等待 %s 逾時)。請確認伺服器已啟動、"
				"位址與埠正確,而且兩端的 RDMA 裝置在同一個網路上\n", CONNECT_TIMEOUT_MS / 1000,
				cfg->server, cfg->port, rdma_event_str(want));
		else if (errno == ETIMEDOUT)
			printf("%s客戶端沒有在 %d 秒內完成連線,放棄\n", c->tag, CONNECT_TIMEOUT_MS / 1000);
		else if (errno == EINTR)
			fprintf(stderr, "%s被中斷(連線建立中)\n", c->tag);
		else
			fprintf(stderr, "%s錯誤:rdma_get_cm_event 失敗:%s\n", c->tag, strerror(errno));
		return -1;
	}
	if (ev->event == want) {
		if (pdata && ev->param.conn.private_data && ev->param.conn.private_data_len >= plen)
			memcpy(pdata, ev->param.conn.private_data, plen);
		rdma_ack_cm_event(ev);
		return 0;
	}
	if (!client) {
		printf("%s連線沒有建立:%s(status %d)\n", c->tag, rdma_event_str(ev->event), ev->status);
		rdma_ack_cm_event(ev);
		return -1;
	}
	switch (ev->event) {
	case RDMA_CM_EVENT_ADDR_ERROR:
		fprintf(stderr, "錯誤:無法解析位址 %s(%s,status %d)。請確認這台機器有路由到它的介面,"
			"且該介面上有 RDMA 裝置(ibv_devices、rdma link)\n", cfg->server, rdma_event_str(ev->event),
			ev->status);
		break;
	case RDMA_CM_EVENT_ROUTE_ERROR:
		fprintf(stderr, "錯誤:找不到到 %s 的 RDMA 路由(%s,status %d)\n", cfg->server,
			rdma_event_str(ev->event), ev->status);
		break;
	case RDMA_CM_EVENT_REJECTED:
		memset(&rf, 0, sizeof(rf));
		if (ev->param.conn.private_data && ev->param.conn.private_data_len >= sizeof(rf))
			memcpy(&rf, ev->param.conn.private_data, sizeof(rf));
		if (ntohl(rf.magic) == HELLO_MAGIC && rf.reason)
			explain_refusal(cfg, &rf);
		else
			fprintf(stderr, "錯誤:連線被拒絕:%s 的埠 %d 沒有 RDMA 伺服器在監聽(或不接受這個要求,"
				"status %d)。請先啟動 rdma_communication server\n", cfg->server, cfg->port, ev->status);
		break;
	case RDMA_CM_EVENT_UNREACHABLE:
		fprintf(stderr, "錯誤:伺服器 %s:%d 無法連線(UNREACHABLE,status %d)\n", cfg->server, cfg->port,
			ev->status);
		break;
	default:
		fprintf(stderr, "錯誤:預期 %s,卻收到 %s(status %d)\n", rdma_event_str(want), rdma_event_str(ev->event),
			ev->status);
	}
	rdma_ack_cm_event(ev);
	return -1;
}

/*
 * 連線選項:ACK 逾時(決定多快發現對方消失:約 ACK_TIMEOUT × (RETRY_COUNT + 1));
 * 客戶端另外可設 traffic class(被動端沿用連線要求裡的值)。
 */
static void set_conn_options(struct conn *c)
{
	uint8_t t = ACK_TIMEOUT;

	if (rdma_set_option(c->id, RDMA_OPTION_ID, RDMA_OPTION_ID_ACK_TIMEOUT, &t, sizeof(t)))
		conn_note(c, "警告:無法設定 ACK 逾時(RDMA_OPTION_ID_ACK_TIMEOUT:%s);發現對方消失會比較慢",
			  strerror(errno));
	if (c->role == ROLE_CLIENT && c->cfg->tos >= 0) {
		uint8_t tos = (uint8_t)c->cfg->tos;

		if (rdma_set_option(c->id, RDMA_OPTION_ID, RDMA_OPTION_ID_TOS, &tos, sizeof(tos)))
			conn_note(c, "警告:無法設定 traffic class(RDMA_OPTION_ID_TOS:%s)", strerror(errno));
	}
}

/*
 * 最短 RNR 計時器是「接收端」的屬性:沒有 RECV 時它回 RNR NAK,要對方等這麼久再試。
 * rdma_cm 把它設成 0(= 655 ms);使用者空間沒有對應的 rdma_set_option,所以 QP 到了 RTS
 * 之後自己以 ibv_modify_qp(RTS -> RTS)改掉。
 */
static void set_min_rnr_timer(struct conn *c)
{
	struct ibv_qp_attr a = { .min_rnr_timer = MIN_RNR_TIMER };
	int e = ibv_modify_qp(c->id->qp, &a, IBV_QP_MIN_RNR_TIMER);

	if (e)
		conn_note(c, "警告:無法設定最短 RNR 計時器(ibv_modify_qp:%s)", strerror(e));
}

/* 正常中斷連線:rdma_disconnect,等對方的 DISCONNECTED 最多 1 秒 */
static void conn_disconnect(struct conn *c)
{
	uint64_t deadline = now_ns() + 1000000000ull;

	if (!c->connected)
		return;
	rdma_disconnect(c->id);
	c->connected = false;
	while (!c->peer_gone && now_ns() < deadline) {
		struct pollfd pfd = { .fd = c->ec->fd, .events = POLLIN };
		struct rdma_cm_event *ev;

		if (rdma_get_cm_event(c->ec, &ev)) {
			poll(&pfd, 1, 50);
			continue;
		}
		if (ev->event == RDMA_CM_EVENT_DISCONNECTED)
			c->peer_gone = true;
		rdma_ack_cm_event(ev);
	}
}

/* 倒序拆除(容許只建立了一部分) */
static void conn_teardown(struct conn *c)
{
	if (c->qp_created)
		rdma_destroy_qp(c->id);
	if (c->win_mr)
		ibv_dereg_mr(c->win_mr);
	if (c->local_mr)
		ibv_dereg_mr(c->local_mr);
	if (c->win)
		munmap(c->win, c->lay.win_map);
	if (c->local)
		munmap(c->local, c->lay.local_len);
	if (c->cq) {
		if (c->cq_unacked)
			ibv_ack_cq_events(c->cq, c->cq_unacked);
		ibv_destroy_cq(c->cq);
	}
	if (c->cc)
		ibv_destroy_comp_channel(c->cc);
	if (c->pd)
		ibv_dealloc_pd(c->pd);
	if (c->id)
		rdma_destroy_id(c->id);
	if (c->ec)
		rdma_destroy_event_channel(c->ec);
	free(c->data_wrid);
	c->qp_created = false;
	c->win_mr = c->local_mr = NULL;
	c->win = c->local = NULL;
	c->cq = NULL;
	c->cc = NULL;
	c->pd = NULL;
	c->id = NULL;
	c->ec = NULL;
	c->data_wrid = NULL;
}

static void fill_hello(struct conn *c, struct hello *h)
{
	*h = (struct hello){
		.magic = htonl(HELLO_MAGIC),
		.version = PROTO_VERSION,
		.test = (uint8_t)c->test,
		.op = (uint8_t)c->op,
		.use_imm = c->use_imm,
		.size = htonl(c->size),
		.depth = htonl(c->depth),
		.iters = htonl(c->duration ? 0 : c->iters),
		.duration = htonl(c->duration),
		.win_len = htonl((uint32_t)c->lay.win_bytes),
		.win_rkey = htonl(c->win_mr->rkey),
	};
}

/* 檢查客戶端的 hello;合理回傳 0,否則回傳 enum bad_detail */
static uint8_t check_hello(const struct hello *h)
{
	uint32_t size = ntohl(h->size), depth = ntohl(h->depth), iters = ntohl(h->iters);
	uint32_t dur = ntohl(h->duration), win = ntohl(h->win_len);

	if (ntohl(h->magic) != HELLO_MAGIC)
		return BAD_PROTO;
	if (h->version != PROTO_VERSION)
		return BAD_VERSION;
	if (h->test > TEST_BW || h->op > OP_READ || h->use_imm > 1 ||
	    (h->use_imm && (h->test != TEST_LAT || h->op != OP_WRITE)))
		return BAD_KIND;
	if (h->test == TEST_DEMO)
		return win ? 0 : BAD_WINDOW;
	if (!size || size > MAX_SIZE)
		return BAD_SIZE;
	if (h->test == TEST_BW && (!depth || depth > MAX_DEPTH))
		return BAD_DEPTH;
	if (iters > MAX_ITERS || dur > MAX_DURATION || (!iters && !dur))
		return BAD_COUNT;
	if (!win || (h->test == TEST_LAT && h->op == OP_WRITE && win < size))
		return BAD_WINDOW; /* 伺服器要把回應寫進客戶端視窗 */
	return 0;
}

/*
 * 對方送來的文字只留可列印的字元:合法的 UTF-8,去掉 C0 / C1 控制字元、DEL、過長編碼、
 * 代理字元與改變文字方向的格式字元;其他換成 '?'。終端機控制碼因此無法透過我們印出。
 */
static void printable(const char *in, size_t len, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t i = 0, j = 0;

	while (i < len && p[i] && j + 5 < outlen) {
		unsigned char b = p[i];
		size_t n = b < 0x80 ? 1 : (b & 0xe0) == 0xc0 ? 2 : (b & 0xf0) == 0xe0 ? 3 : (b & 0xf8) == 0xf0 ? 4 : 0;
		uint32_t cp = n == 1 ? b : n == 2 ? b & 0x1fu : n == 3 ? b & 0x0fu : b & 0x07u;
		bool ok = n && i + n <= len;

		for (size_t k = 1; ok && k < n; k++) {
			ok = (p[i + k] & 0xc0) == 0x80;
			cp = cp << 6 | (p[i + k] & 0x3fu);
		}
		if (ok && (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
			   (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff) ||
			   (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
			   (cp >= 0x2066 && cp <= 0x2069)))
			ok = false;
		if (ok) {
			memcpy(out + j, p + i, n);
			j += n;
			i += n;
		} else {
			out[j++] = '?';
			i++;
		}
	}
	out[j] = '\0';
}

static const char *wait_text(struct conn *c, enum wait_result r, char *buf, size_t len)
{
	switch (r) {
	case WAIT_OK:
		return "成功";
	case WAIT_FAILED:
		snprintf(buf, len, "%s", c->why[0] ? c->why : "連線出錯");
		return buf;
	case WAIT_GONE:
		return "對方已中斷連線(行程結束或被中斷)";
	case WAIT_IDLE:
		snprintf(buf, len, "對方 %d 秒沒有任何動靜(程式停住、當掉或網路斷了?)", PEER_IDLE_MS / 1000);
		return buf;
	case WAIT_STOPPED:
		return "被中斷(SIGINT / SIGTERM)";
	}
	return "?";
}

/* ---- 選項與說明 -------------------------------------------------------------- */

enum who { FOR_BOTH, FOR_SERVER, FOR_CLIENT };

struct opt_help {
	struct option opt;
	const char *arg;
	enum who who;
	const char *help;
};

static const struct opt_help options[] = {
	{ { "port", required_argument, NULL, 'p' }, "埠", FOR_BOTH, "rdma_cm 埠(預設 7471)" },
	{ { "bind", required_argument, NULL, 'b' }, "位址", FOR_BOTH,
	  "伺服器:監聽的位址;客戶端:來源位址(預設:伺服器 0.0.0.0,客戶端依路由)" },
	{ { "device", required_argument, NULL, 'd' }, "名稱", FOR_BOTH,
	  "RDMA 裝置(例如 rxe0、mlx5_0);沒給 --bind 時綁到它 GID 表裡的位址" },
	{ { "gid-index", required_argument, NULL, 'x' }, "N", FOR_BOTH,
	  "以 GID 表第 N 項(查遍每個埠的整張表)的位址當本地位址;連線後印出實際使用的 GID 與類型" },
	{ { "event", no_argument, NULL, 'e' }, NULL, FOR_BOTH, "等待完成事件(completion channel)而不是忙碌輪詢" },
	{ { "max-clients", required_argument, NULL, 'c' }, "N", FOR_SERVER,
	  "同時服務的客戶端上限(預設 16,含握手中的,1-1024);超過的以「忙碌」拒絕" },
	{ { "max-mem", required_argument, NULL, 'm' }, "MiB", FOR_SERVER,
	  "所有連線註冊記憶體的總上限(預設 256);會超過的連線要求以「記憶體不足」拒絕" },
	{ { "once", no_argument, NULL, '1' }, NULL, FOR_SERVER, "只服務一個客戶端就結束(同時也只接一個)" },
	{ { "test", required_argument, NULL, 't' }, "種類", FOR_CLIENT,
	  "demo(預設:問候 + WRITE/READ 驗證)、lat(延遲)、bw(頻寬)" },
	{ { "op", required_argument, NULL, 'o' }, "操作", FOR_CLIENT, "send(預設)、write、read" },
	{ { "size", required_argument, NULL, 's' }, "位元組", FOR_CLIENT,
	  "每則訊息大小(lat 預設 64,bw 預設 65536,上限 64 MiB)" },
	{ { "iters", required_argument, NULL, 'n' }, "次數", FOR_CLIENT, "操作次數(lat 預設 1000,bw 預設 5000)" },
	{ { "duration", required_argument, NULL, 'D' }, "秒", FOR_CLIENT, "改成跑這麼多秒(取代 --iters,1-86400)" },
	{ { "depth", required_argument, NULL, 'q' }, "N", FOR_CLIENT,
	  "bw 同時未完成的工作請求數(預設 16,上限 1024,也受裝置上限限制)" },
	{ { "tos", required_argument, NULL, 'T' }, "N", FOR_CLIENT,
	  "traffic class(0-255;RoCE v2 是 IP 的 TOS 位元組);伺服器沿用連線要求裡的值" },
	{ { "help", no_argument, NULL, 'h' }, NULL, FOR_BOTH, "顯示這份說明" },
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

static __attribute__((noreturn, format(printf, 1, 2))) void usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "錯誤:");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "(./rdma_communication --help 看說明)\n");
	exit(64);
}

/* 終端機上的顯示寬度:ASCII 佔 1 格,中文(UTF-8 三位元組以上)佔 2 格 */
static int display_width(const char *s)
{
	int w = 0;

	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		w += *p < 0x80 ? 1 : *p >= 0xe0 ? 2 : 0;
	return w;
}

static void print_help(void)
{
	static const char *const titles[] = { "共同選項", "伺服器選項", "客戶端選項" };

	printf("用法:\n"
	       "  rdma_communication server [選項]\n"
	       "  rdma_communication client 伺服器IP [選項]\n\n"
	       "以 rdma_cm 建立 RC 連線,示範 SEND/RECV、RDMA WRITE/READ,量測延遲、頻寬與兩端的 CPU。\n"
	       "伺服器同時服務多個客戶端(一條連線一個執行緒),每秒印出統計;客戶端的設定在連線時告訴伺服器。\n");
	for (int w = FOR_BOTH; w <= FOR_CLIENT; w++) {
		printf("\n%s:\n", titles[w]);
		for (size_t i = 0; i < N_OPTIONS; i++) {
			char left[64];

			if (options[i].who != (enum who)w)
				continue;
			snprintf(left, sizeof(left), "-%c, --%s%s%s", options[i].opt.val, options[i].opt.name,
				 options[i].arg ? " " : "", options[i].arg ? options[i].arg : "");
			printf("  %s%*s %s\n", left, 26 - display_width(left), "", options[i].help);
		}
	}
	printf("\n對方(任何客戶端)能讓伺服器用掉的資源都有上限:\n"
	       "  記憶體:每個連線要求需要多少依它的 hello 精確計算,全部連線合計不超過 --max-mem;\n"
	       "  連線數:--max-clients;等待:對方 %d 秒沒有動靜就放棄,每秒 keepalive(0 位元組 RDMA WRITE);\n"
	       "  CPU:同時最多「線上 CPU 數 − 1」(至少 1)條連線忙碌輪詢,其他的睡著等完成事件;\n"
	       "  連線要求的重試次數(傳輸、RNR)由伺服器的 QP 照用,要求 7(無限)的以「參數不合理」拒絕;\n"
	       "  RDMA 只能存取自己連線的視窗(iova 0、剛好需要的權限),超出範圍得到 remote access error。\n",
	       PEER_IDLE_MS / 1000);
	printf("\n例:\n"
	       "  ./rdma_communication server &\n"
	       "  ./rdma_communication client 10.0.2.15                          # 問候 + WRITE/READ 驗證\n"
	       "  ./rdma_communication client 10.0.2.15 --test lat --op write     # 延遲\n"
	       "  ./rdma_communication client 10.0.2.15 --test bw --op write --duration 10 --depth 32\n\n"
	       "沒有 RDMA 裝置?有 rdma_rxe 模組時:sudo rdma link add rxe0 type rxe netdev eth0;\n"
	       "核心沒有 RDMA 時在套件的 Soft-RoCE VM 裡試:make rdma-vm\n"
	       "注意:127.0.0.1 不能用於 rdma_cm,請用 RDMA 裝置所在網路介面的 IP。\n"
	       "結束碼:0 成功,1 執行期錯誤(包括被伺服器拒絕),64 用法錯誤。\n");
}

static unsigned long parse_num(const char *s, const char *what, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	if (*s == '-' || *s == '\0')
		usage_error("%s 需要正整數,得到「%s」", what, s);
	v = strtoul(s, &end, 0);
	if (errno || *end)
		usage_error("%s 需要整數,得到「%s」", what, s);
	if (v < min || v > max)
		usage_error("%s 必須介於 %lu 與 %lu 之間,得到 %lu", what, min, max, v);
	return v;
}

static int pick_word(const char *s, const char *const *words, int n, const char *what)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, words[i]))
			return i;
	usage_error("%s 只能是 %s、%s 或 %s,得到「%s」", what, words[0], words[1], words[2], s);
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	struct option longopts[N_OPTIONS + 1];
	char shortopts[3 * N_OPTIONS + 2];
	bool seen[128] = { false };
	size_t k = 0;
	int c;

	shortopts[k++] = ':'; /* 缺參數時回傳 ':',與不認得的選項分開 */
	for (size_t i = 0; i < N_OPTIONS; i++) {
		longopts[i] = options[i].opt;
		shortopts[k++] = (char)options[i].opt.val;
		if (options[i].opt.has_arg == required_argument)
			shortopts[k++] = ':';
	}
	memset(&longopts[N_OPTIONS], 0, sizeof(longopts[0]));
	shortopts[k] = '\0';

	*cfg = (struct config){ .port = DEFAULT_PORT, .gid_index = -1, .tos = -1, .depth = 16,
				.max_clients = DEFAULT_MAX_CLIENTS, .max_mem = (uint64_t)DEFAULT_MAX_MEM_MIB << 20 };
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		if (c > 0 && c < 128)
			seen[c] = true;
		switch (c) {
		case 'p':
			cfg->port = (int)parse_num(optarg, "--port", 1, 65535);
			break;
		case 'b':
			cfg->bind_addr = optarg;
			break;
		case 'd':
			if (strlen(optarg) >= IBV_SYSFS_NAME_MAX || !*optarg)
				usage_error("--device 名稱長度不對:「%s」", optarg);
			cfg->device = optarg;
			break;
		case 'x':
			cfg->gid_index = (int)parse_num(optarg, "--gid-index", 0, 65535);
			break;
		case 'e':
			cfg->event = true;
			break;
		case 'c':
			cfg->max_clients = (uint32_t)parse_num(optarg, "--max-clients", 1, 1024);
			break;
		case 'm':
			cfg->max_mem = (uint64_t)parse_num(optarg, "--max-mem", 1, 1048576) << 20;
			break;
		case '1':
			cfg->once = true;
			break;
		case 't':
			cfg->test = (enum test)pick_word(optarg, test_names, 3, "--test");
			break;
		case 'o':
			cfg->op = (enum op)pick_word(optarg, op_names, 3, "--op");
			break;
		case 's':
			cfg->size = (uint32_t)parse_num(optarg, "--size", 1, MAX_SIZE);
			break;
		case 'n':
			cfg->iters = (uint32_t)parse_num(optarg, "--iters", 1, MAX_ITERS);
			break;
		case 'D':
			cfg->duration = (uint32_t)parse_num(optarg, "--duration", 1, MAX_DURATION);
			break;
		case 'q':
			cfg->depth = (uint32_t)parse_num(optarg, "--depth", 1, MAX_DEPTH);
			break;
		case 'T':
			cfg->tos = (int)parse_num(optarg, "--tos", 0, 255);
			break;
		case 'h':
			print_help();
			exit(0);
		case ':':
			usage_error("選項 %s 需要參數", argv[optind - 1]);
		default:
			if (optopt)
				usage_error("不認得的選項「-%c」", optopt);
			usage_error("不認得的選項「%s」", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		usage_error("需要指定 server 或 client");
	if (!strcmp(argv[optind], "server")) {
		cfg->role = ROLE_SERVER;
		optind++;
	} else if (!strcmp(argv[optind], "client")) {
		cfg->role = ROLE_CLIENT;
		optind++;
		if (optind >= argc)
			usage_error("client 需要伺服器 IP,例如:client 10.0.2.15");
		cfg->server = argv[optind++];
	} else {
		usage_error("第一個參數必須是 server 或 client,得到「%s」", argv[optind]);
	}
	if (optind < argc)
		usage_error("多餘的參數「%s」", argv[optind]);
	for (size_t i = 0; i < N_OPTIONS; i++) {
		const struct opt_help *o = &options[i];

		if (!seen[o->opt.val] || o->who == FOR_BOTH ||
		    o->who == (cfg->role == ROLE_SERVER ? FOR_SERVER : FOR_CLIENT))
			continue;
		usage_error("--%s 只用於%s", o->opt.name,
			    o->who == FOR_CLIENT ? "客戶端(伺服器依客戶端連線時的要求執行)" : "伺服器");
	}
	if (cfg->role == ROLE_SERVER) {
		if (cfg->once && seen['c'] && cfg->max_clients != 1)
			usage_error("--once 同時只服務一個客戶端,不能再給 --max-clients");
		if (cfg->once)
			cfg->max_clients = 1;
		return;
	}
	if (seen['n'] && seen['D'])
		usage_error("--iters 與 --duration 只能擇一");
	if (cfg->test == TEST_DEMO && (seen['s'] || seen['n'] || seen['D'] || seen['q']))
		usage_error("--size / --iters / --duration / --depth 只用於 --test lat 或 bw");
	if (cfg->test == TEST_LAT && seen['q'])
		usage_error("--depth 只用於 --test bw(延遲測試一次只有一個)");
	if (!seen['s'])
		cfg->size = cfg->test == TEST_BW ? 65536 : 64;
	if (!seen['n'])
		cfg->iters = cfg->test == TEST_BW ? 5000 : 1000;
	if (cfg->test == TEST_DEMO)
		cfg->size = sizeof(WRITE_TEXT);
	if (cfg->test != TEST_BW)
		cfg->depth = 1;

	struct layout l;

	plan_layout(&l, ROLE_CLIENT, cfg->test, cfg->op, cfg->size, cfg->depth);
	if (l.local_len + l.win_map > CLIENT_MEM_LIMIT)
		usage_error("--size × --depth 太大:客戶端需要註冊 %.0f MiB(上限 1 GiB)",
			    (l.local_len + l.win_map) / 1048576.0);
}

int main(int argc, char **argv)
{
	struct config cfg;
	struct sigaction sa = { .sa_handler = on_signal };

	parse_args(argc, argv, &cfg);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return cfg.role == ROLE_SERVER ? run_server(&cfg) : run_client(&cfg);
}
