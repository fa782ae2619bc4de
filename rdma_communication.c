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
 *     run_server() / server_admit() / serve_one()(伺服器那一側:上限與公平 → 接受 → 服務 → 中斷)。
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
 *   ./rdma_communication server [--port 7471] [--bind 位址] [--max-clients 16] [--max-mem 256]
 *                                 [--max-per-peer N] [--max-peer-mem MiB] [--max-session 秒[,次數]] [--once]
 *   ./rdma_communication client 伺服器IP [--test demo|lat|bw] [--op send|write|read] [--size 位元組]
 *                                 [--iters 次數 | --duration 秒] [--depth N] [--event] [--tos N]
 *
 * 一個指令試試看(在有 rxe0 的機器或 VM 裡;IP 是 rxe0 所在介面的位址,不能用 127.0.0.1):
 *   ./rdma_communication server --once & sleep 1; ./rdma_communication client 10.0.2.15
 *
 * 伺服器的結構:一條連線一個執行緒。
 *   主執行緒只處理 rdma_cm 的連線要求(檢查上限,拒絕、接受或請別人讓位)與每秒統計;每條連線有
 *   自己的執行緒、event channel(rdma_migrate_id 把 cm_id 搬過去)、PD、CQ、MR 與 QP。這樣一段連線
 *   的程式可以像客戶端一樣由上往下讀,一個停住的客戶端只卡住自己的執行緒,而執行緒的 CPU 時間
 *   (CLOCK_THREAD_CPUTIME_ID)正好是「伺服器為這個客戶端花了多少 CPU」。單一 event loop 能撐
 *   更多連線,但每種測試都得拆成狀態機;這裡要教的是 verbs,所以選執行緒,連線數以
 *   --max-clients 限制(每條連線 1 個執行緒、2 個檔案描述子,啟動時依它調高 RLIMIT_NOFILE)。
 *
 * 對方(任何連得到這個埠的程式)能做什麼、不能做什麼:
 *   - 記憶體:連線要求裡的 hello 先檢查(大小、深度、次數有上限),再算出這條連線「真正」的成本:
 *     註冊的 MR(plan_layout(),與實際註冊的相同)加上連線本身 —— QP / CQ 的佇列(依項目數)、
 *     執行緒與核心物件 —— 這部分在 Soft-RoCE 上量過(conn_cost(),100 條連線的 MemAvailable 下降)。
 *     全部連線合計不超過 --max-mem(預設 256 MiB),還沒配置任何東西就決定。記憶體以 mmap 取得
 *     (核心給的是清零的分頁),深度不超過裝置的 ibv_query_device 上限。
 *   - 公平:每個來源位址(IPv6 以 /64 計)最多 --max-per-peer 條連線(預設 --max-clients 的四分之一)
 *     與 --max-peer-mem 的記憶體(預設 --max-mem 的四分之一),所以一個位址佔滿它能佔的,別的位址
 *     照樣連得上。很多位址一起把伺服器佔滿時,「持有最多的位址」最舊的(記憶體不夠時是最大的)工作
 *     階段讓位 —— 只要它讓位之後持有的仍不少於新來的位址(所以不會互相擠來擠去):伺服器以 'X'
 *     告訴它原因並中斷,新的要求在 EVICT_WAIT_MS 內被接受(等待期間它已預約了名額,沒有配置任何東西)。
 *   - 工作階段:伺服器自己數(或限制)每個工作階段的時間與次數,最多 --max-session(預設 300 秒、
 *     1 億次;依時間的測試是約定的秒數 + 5 秒),到了就以 'X' 告訴客戶端並結束。只有「進展」才算
 *     活著:伺服器看得到的操作(收到 SEND、看到 WRITE 的序號),單邊操作則是客戶端回報的次數真的
 *     增加;PEER_IDLE_MS 沒有進展就結束(只送 'L' 不做事的連線也一樣)。
 *   - 拒絕帶原因,但不洩漏伺服器的狀態:「伺服器已滿(連線數 / 記憶體)」不附任何數字;只有這個要求
 *     「本身」就超過每個位址的上限時才說它需要多少、上限多少;「你的位址已持有 N 條 / X MiB」只說
 *     它自己的。伺服器自己配置失敗時是「伺服器端錯誤」與 errno,客戶端不會誤以為沒有伺服器。
 *   - 連線要求裡的傳輸重試與 RNR 重試次數是「伺服器的」QP 要用的(IB CM 的規定,rdma_accept
 *     的 retry_count 會被忽略):要求 7(RNR 的 7 是無限,Soft-RoCE 的傳輸重試也是)的連線被拒絕,
 *     否則伺服器的送出可能永遠卡在重試裡,keepalive 也發現不了對方消失。
 *   - CPU:同時最多「線上 CPU 數 − 1」(至少 1)條連線忙碌輪詢,其他的睡在 completion channel 上;
 *     再多慢慢送訊息的客戶端也只能讓伺服器燒掉這麼多顆 CPU(見 spin_allowed())。
 *   - RDMA 只碰得到自己那條連線的「視窗」:視窗是獨立的 MR,以 iova 0 註冊(對方只拿到
 *     長度與 rkey,看不到任何位址),權限剛好是測試需要的:WRITE 測試只有 REMOTE_WRITE、
 *     READ 測試只有 REMOTE_READ、demo 兩者都有、SEND 測試沒有視窗;QP 只在 READ 測試與 demo
 *     接受 RDMA READ(responder resources,其他測試是 0)。送出區與接收區在另一個只有
 *     LOCAL_WRITE 的 MR,對方就算知道它的 key 也存取不了;別的連線的 MR 在別的 PD,
 *     它們的 rkey 對這條 QP 無效。越界的存取讓對方得到 remote access error,它的連線被關閉。
 *   - 每個等待都有期限:見上面的「進展」;伺服器等待時每秒送一個 0 位元組的 RDMA WRITE 當
 *     keepalive,對方主機或網路消失時約 2 秒內得到「重試次數用完」。keepalive 是對方的「網卡」
 *     回答的(Soft-RoCE 是對方的核心),證明的是主機與網路還在,不是對方程式還在跑。
 *   - 數字:每秒統計與 CLIENT 行是伺服器自己數的(收到的 SEND、看到的 WRITE);單邊操作伺服器
 *     看不到,客戶端的回報另外標成「回報」,而且不超過物理上可能的(埠的速率 × 時間、約定的次數)。
 *   - 記錄:同一種事件(拒絕、連線的開始與結束)每秒最多 LOG_RATE 筆(開頭可連續 LOG_BURST 筆),
 *     其餘每秒彙總成一行;結束時的 SUMMARY 是精確的。
 *   - 不守規矩的訊息(不認得的種類、比接收緩衝區長、不等 credit 就狂送)只會讓自己的連線
 *     被關閉;對方送來的文字只印出可列印的字元(不會有終端機控制碼)。
 *   - 對方不能:讓伺服器配置超過上限的記憶體、讀寫視窗以外的記憶體、卡住或擠掉別的位址的客戶端、
 *     讓伺服器的記錄洗版、把自己的數字變成伺服器的統計。
 *
 * 線路協定(全部是網路位元組序;版本 3):
 *   1. 客戶端 rdma_connect() 的 private data 是 struct hello:magic "KBSR"、版本、測試種類、
 *      操作、use_imm(1 = WRITE 延遲測試用 WRITE_WITH_IMM 通知對方)、訊息大小、深度、
 *      次數或秒數,以及客戶端視窗的長度與 rkey(視窗從偏移 0 開始,不傳位址)。
 *   2. 伺服器在 CONNECT_REQUEST 檢查 hello、連線要求的重試次數與上限;不接受就 rdma_reject(),
 *      private data 是 struct refusal(原因碼與只關於這個客戶端的數字)。接受就依 hello 配置、註冊,
 *      rdma_accept() 的 private data 是 struct welcome:同意的深度、伺服器預先 post 的 RECV 數
 *      (客戶端的 credit)、伺服器視窗的長度與 rkey、這個工作階段的時間與次數上限。
 *      客戶端在 ESTABLISHED 事件讀出它。
 *   3. 之後每一則 SEND 的第一個位元組是種類:'D' 資料、'T' 文字(demo),以及 24 位元組的
 *      控制訊息 struct ctrl:'L' 客戶端進度(已完成次數)、'E' 客戶端結束(附次數與 CPU)、
 *      'A' 伺服器確認(附驗證結果、伺服器 CPU 與伺服器認定的次數)、'C' 伺服器的 credit
 *      (已重新 post 的 RECV 總數)、'X' 伺服器結束這個工作階段(原因與上限)。客戶端送出的 SEND
 *      總數永遠不超過「伺服器的 RECV 數 + 伺服器已重新 post 的數」,所以不會發生 RNR(接收端沒有
 *      緩衝區);萬一發生,有限的 RNR 重試會讓連線以錯誤結束,不會無聲地卡住。延遲測試(SEND 與
 *      WRITE_WITH_IMM 的 ping-pong)不送 'C':伺服器處理一則 SEND 時就把它的 RECV post 回去,
 *      之後才回覆,所以「收到第 i 個回覆」本身就代表第 i 個 ping 之前用掉的 RECV 都已補回 ——
 *      credit 搭著回覆回來(另外送 'C' 會讓延遲變成 perftest 的 1.3–1.6 倍)。
 *      RDMA WRITE / READ 直接存取對方視窗的「偏移」(用對方的 rkey)。
 *   4. WRITE 延遲測試:WRITE 的最後一個位元組是序號,接收端輪詢那個位元組(網卡依位址
 *      遞增的順序寫入,最後一個位元組到了代表整則到了;perftest 也這樣做);use_imm 時改用
 *      WRITE_WITH_IMM,接收端睡在 CQ 上等 CQE。
 *
 * 統計數字的意義:
 *   延遲:send 與 write 是 ping-pong,報告「單程 = 來回 / 2」(同 perftest 的 ib_send_lat /
 *   ib_write_lat,p50 相當於 t_typical);read 報告一次 READ 的完整來回(同 ib_read_lat)。
 *   頻寬:客戶端維持 --depth 個未完成的工作請求;MB/s 的 MB 是 2^20 位元組(同 perftest)。
 *   CPU:客戶端是整個行程在量測期間的 user+system 時間;伺服器是服務那個客戶端的執行緒的
 *   CPU 時間(由 ACK 告訴客戶端)。伺服器每秒印一行:連線數、伺服器自己看到的每秒操作數與 MB/s、
 *   單邊操作的「客戶端回報」(有上限)、伺服器 CPU %、記憶體。Soft-RoCE 的「網卡」是核心的
 *   softirq,不算在兩個程式的 CPU 裡;真的網卡上這部分由硬體做。
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
#define CONNECT_TIMEOUT_MS 5000 /* 位址與路由解析、與伺服器的握手,各最多等這麼久 */
#define RESOLVE_TIMEOUT_MS 2000
#define PEER_IDLE_MS 6000 /* 伺服器:對方這麼久沒有進展就結束;客戶端:伺服器這麼久沒有動靜就放棄 */
#define KEEPALIVE_MS 1000 /* 伺服器等待時多久送一次 keepalive(0 位元組 RDMA WRITE) */
#define ALIVE_MS 1000	  /* 客戶端量測時多久回報一次進度('L' 訊息) */
#define SPIN_MS 20	  /* 對方這麼久沒動靜就不再忙碌輪詢,改睡在 completion channel 上 */
#define ACK_TIMEOUT 16	  /* 本地 ACK 逾時 4.096 µs × 2^16 ≈ 268 ms;重試 6 次 ≈ 2 秒 */
#define RETRY_COUNT 6	  /* 傳輸重試次數:規格裡 7 只是 7 次,但 Soft-RoCE(rxe)把 7 當成無限 */
#define RNR_RETRY 6	  /* RNR 重試次數:7 代表無限,這裡刻意有限 */
#define MIN_RNR_TIMER 20  /* 接收端回 RNR NAK 時要對方等 10.24 ms(IB 規格的編碼 20) */
#define HELLO_MAGIC 0x4b425352u /* "KBSR" */
#define PROTO_VERSION 3
#define MAX_SIZE (64u << 20)
#define MAX_DEPTH 1024
#define MAX_ITERS 100000000u
#define MAX_DURATION 86400
#define MAX_SAMPLES (1u << 20)		/* 8 MiB 的延遲樣本 */
#define CLIENT_MEM_LIMIT (1ull << 30)	/* 客戶端自己最多註冊這麼多 */
#define DEFAULT_MAX_MEM_MIB 256
#define DEFAULT_MAX_CLIENTS 16
#define DEFAULT_MAX_SECS 300	    /* --max-session:每個工作階段最多幾秒 */
#define DEFAULT_MAX_OPS 100000000u  /* --max-session:每個工作階段最多幾次操作 */
#define SESSION_GRACE_S 5	    /* 依時間的測試:約定的秒數之後再給這麼久收尾 */
#define END_WAIT_MS 500	    /* 伺服器結束工作階段時,等 'X' 送達最多這麼久(讓位時新來的在等) */
#define EVICT_WAIT_MS 3000	    /* 讓位:新的連線要求最多等這麼久,讓被選中的工作階段結束 */
#define MAX_PENDING 8		    /* 同時在等別人讓位的連線要求 */
#define LOG_BURST 20		    /* 記錄:同一種事件開頭可以連續印這麼多筆 */
#define LOG_RATE 2		    /* 之後每秒最多這麼多筆,其餘每秒彙總成一行 */
#define FDS_PER_CONN 2		    /* 每條連線的檔案描述子:event channel 與 completion channel */
#define FDS_BASE 16		    /* 伺服器本身(標準輸出入、監聽的 channel、裝置)另外留的 */
/*
 * 一條連線除了 MR 以外真正用掉的記憶體(conn_cost()),在 Soft-RoCE VM 裡以 100 條連線量 MemAvailable 的
 * 下降(與 slab、vmalloc、核心堆疊、匿名分頁各自的增加)得到。佇列是 rxe 以 vmalloc 配置的環:項目數 + 1
 * 進位到 2 的次方,每個送出 WQE(含 64 位元組 inline)512 位元組、RECV WQE 64 位元組、CQE 128 位元組,
 * 整頁配置(lat send 的三個環 36 KiB,bw send 深度 256 的 220 KiB,兩者都與 vmalloc 的增加相符)。
 * 其他約 COST_BASE:執行緒的核心堆疊 16 KiB,加上 cm_id / QP / CQ / 兩個 channel 的核心物件、用到的
 * 使用者堆疊與 struct conn(lat send 一條連線共 55–62 KiB,算成 64 KiB)。一個新行程的頭一百條連線
 * 另外多約 25 KiB(slab 快取與 malloc 的 arena 長大一次,之後重用),不算在每條連線裡。
 * 真的 RDMA 網卡的佇列格式不同,這是估計,數量級相同。
 */
#define COST_BASE (24u << 10)
#define COST_SQ_SLOT 512
#define COST_RQ_SLOT 64
#define COST_CQ_SLOT 128
#define COST_RD_ATOMIC 128 /* 每個 responder resource(對方同時未完成的 RDMA READ) */
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
	uint32_t max_secs, max_ops; /* 伺服器給這個工作階段的上限(秒、次數) */
} __attribute__((packed));

/*
 * 拒絕的原因。已滿(BUSY)不附任何數字;MEM 是「這個要求本身」超過每個位址的記憶體上限(附需要多少與
 * 上限);PEER 是「你的位址」已持有它的份(附上限與它自己持有的);SERVER 是伺服器自己配置失敗(附 errno)。
 */
enum refuse_reason { REFUSE_BUSY = 1, REFUSE_MEM, REFUSE_BAD, REFUSE_SERVER, REFUSE_PEER };
enum full_detail { FULL_CONNS = 1, FULL_MEM }; /* BUSY 與 PEER 的 detail:連線數或記憶體 */
enum bad_detail { BAD_PROTO = 1, BAD_VERSION, BAD_KIND, BAD_SIZE, BAD_DEPTH, BAD_COUNT, BAD_WINDOW, BAD_RETRY };

struct refusal { /* 伺服器拒絕時 rdma_reject 的 private data */
	uint32_t magic;
	uint8_t reason, detail, pad[2]; /* detail:enum bad_detail、enum full_detail 或 errno */
	uint32_t limit, need, used;	/* 連線數或 KiB;只有 MEM 與 PEER 有(見 enum refuse_reason) */
} __attribute__((packed));

enum msg_type {
	MSG_DATA = 'D',	  /* 資料(SEND 測試):只有第一個位元組有意義 */
	MSG_TEXT = 'T',	  /* demo 的文字 */
	MSG_ALIVE = 'L',  /* 客戶端:還活著;a = 已完成操作數,b = 位元組數 */
	MSG_DONE = 'E',	  /* 客戶端:量測結束;a = 操作數,b = 客戶端 CPU ns */
	MSG_ACK = 'A',	  /* 伺服器:flag = 驗證正確;a = 伺服器 CPU ns,b = 伺服器看到的操作數 */
	MSG_CREDIT = 'C', /* 伺服器:a = 已重新 post 的 RECV 總數 */
	MSG_END = 'X',	  /* 伺服器結束工作階段:flag = enum end_reason,a = 上限(秒或次數) */
};

enum end_reason { END_NONE, END_TIME, END_OPS, END_YIELD, END_IDLE, END_SHUTDOWN };
static const char *const end_names[] = { "-", "time", "iters", "yield", "idle", "shutdown" };

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
	uint32_t max_clients, max_per_peer; /* max_per_peer 0 = 預設(--max-clients 的四分之一) */
	uint64_t max_mem, max_peer_mem;	    /* max_peer_mem 0 = 預設(--max-mem 的四分之一) */
	uint32_t max_secs, max_ops;	    /* --max-session */
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
	uint32_t cqe;	/* CQ 的項目數(送出 + 接收 + 4) */
	uint32_t rd_in, rd_out; /* 對方同時未完成的 RDMA READ(responder resources)、自己的(initiator depth) */
	int win_access; /* 視窗 MR 的遠端權限 */
	size_t ctrl_off, recv_off, local_len; /* 本地 MR 內的偏移與總長(整頁) */
	size_t win_bytes, win_map;	      /* 視窗 MR 的長度(對方看得到的)與 mmap 長度 */
	size_t cost;			      /* 這條連線真正的記憶體成本:MR + conn_cost() */
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
	uint64_t sends, peer_reposted; /* credit:用掉對方 RECV 的操作數、對方已重新 post 的 RECV 數 */
	uint64_t ping_sends;	       /* 延遲測試:送出目前這個 ping 時的 sends(回覆到了 = 這些都已補回) */
	uint64_t *data_wrid;	       /* 頻寬測試:資料工作請求的 wr_id(環狀) */
	uint32_t data_ring;
	uint64_t data_posted, data_done;
	/* 接收 */
	uint64_t reposted, credit_sent;
	uint64_t recvs, recv_bytes; /* 資料訊息(含 WRITE_WITH_IMM;伺服器的 WRITE 延遲測試是看到的序號) */
	char text[DEMO_SLOT];
	uint32_t text_len;
	bool got_text, got_done, got_ack, got_end;
	struct ctrl done, ack, end;
	/* 活性 */
	uint64_t last_peer_ns, next_keepalive_ns, next_cm_ns;
	uint64_t keepalives;
	unsigned spins; /* wait_until 的圈數(跨呼叫累計) */
	bool failed, peer_gone, violation; /* violation:對方違反協定(CLIENT 行的 reason=protocol) */
	int err;			    /* 失敗時的 errno(伺服器在拒絕裡告訴客戶端) */
	char why[WHY_LEN];
	/* 伺服器:這個工作階段的上限與進展(見 session_over()) */
	uint64_t t_est, end_ns, max_ops; /* 建立的時間、時間上限(時刻)、次數上限 */
	uint32_t max_secs;		 /* 時間上限(秒;welcome 告訴客戶端) */
	uint64_t last_progress_ns;
	uint64_t rep_ops;		  /* 單邊操作:客戶端回報的次數(已設上限,見 bound_report()) */
	double link_bps;		  /* 埠的速率(位元組/秒):回報的上限 */
	bool observed;			  /* 伺服器自己看得到每次操作(SEND、WRITE 延遲測試) */
	bool logged;			  /* 這條連線的記錄逐行印出(否則只進每秒的彙總) */
	int yield;			  /* 主執行緒要它讓位(以 __atomic 讀寫) */
	enum end_reason end_reason;	  /* 伺服器為什麼結束它 */
	int peer_slot;			  /* 在 server.peers 裡的位置 */
	/* 伺服器:給主執行緒每秒統計(以 __atomic 讀寫) */
	uint64_t st_ops, st_bytes, st_rops, st_rbytes;
	uint64_t cpu0, need, deadline_ns; /* need = lay.cost;deadline_ns:等待讓位的期限 */
	pthread_t thread;
	int finished;
	struct conn *next;
};

/* 一個來源位址(IPv6 以 /64 計)持有的連線與記憶體(含等待讓位中的預約) */
struct peer {
	char addr[INET6_ADDRSTRLEN];
	uint32_t conns, yielding; /* yielding:其中已被要求讓位、還沒結束的 */
	uint64_t mem, yield_mem;
};

/* 記錄的節流:每種事件一個(見 log_gate()) */
enum log_kind { LOG_REFUSE, LOG_SESSION, LOG_KINDS };

/* 伺服器的共用狀態:連線串列只由主執行緒改;計數、記憶體與 peers 以 lock 保護 */
struct server {
	const struct config *cfg;
	uint32_t max_clients, max_per_peer; /* 實際生效的上限(max_clients 可能因 RLIMIT_NOFILE 降低) */
	uint64_t max_peer_mem;
	struct rdma_event_channel *ec;
	struct rdma_cm_id *listen_id;
	pthread_mutex_t lock;
	struct conn *conns, *pending; /* pending:等別人讓位的連線要求(先來先服務) */
	struct peer *peers;
	uint32_t npeers;
	uint32_t active, npending, peak_active; /* 服務中的(含握手中的)與等讓位的連線數 */
	uint64_t pending_mem;			/* 等讓位的要求預約的記憶體 */
	int spin_free, spin_max; /* 忙碌輪詢的名額(見 spin_allowed();spin_free 以 __atomic 讀寫) */
	uint64_t mem_used, mem_peak;
	uint64_t requests, ok, lost, ended, yielded;
	uint64_t rej_busy, rej_mem, rej_bad, rej_peer, rej_server;
	uint64_t retired_ops, retired_bytes, retired_rops, retired_rbytes;
	/* 記錄的節流與彙總 */
	int tokens[LOG_KINDS];
	uint64_t muted_refusals[REFUSE_PEER + 1];
	uint64_t muted_ok, muted_lost, muted_ended, muted_setup; /* muted_setup:連線執行緒配置失敗的拒絕 */
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
	WAIT_ENDED,   /* 工作階段被伺服器結束:伺服器端是 c->end_reason,客戶端收到了 'X'(c->end) */
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
static size_t conn_cost(const struct layout *l);
static double port_rate(struct ibv_context *dev, uint8_t port);
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
static void conn_disconnect(struct conn *c, int wait_ms);
static void conn_teardown(struct conn *c);
static void fill_hello(struct conn *c, struct hello *h);
static uint8_t check_hello(const struct hello *h);
static void printable(const char *in, size_t len, char *out, size_t outlen);
static const char *wait_text(struct conn *c, enum wait_result r, char *buf, size_t len);
static enum end_reason end_flag(const struct conn *c);
static const char *status_of(enum wait_result r);
static void warn_limits(struct conn *c, uint32_t secs, uint32_t ops);
static void server_tick(struct server *s, uint64_t t0, uint64_t last[4], uint64_t *last_cpu, uint64_t *last_t);
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
	int cqe = (int)l->cqe;

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
 * connect / accept 的參數:private data(hello 或 welcome);同時未完成的 RDMA READ 數剛好是測試需要的
 * (plan_layout() 的 rd_in / rd_out:只有 READ 測試與 demo 的客戶端讀伺服器,其他都是 0 —— 伺服器的 QP
 * 因此不接受 READ,也不為它配置 responder resources。每個裝置至少支援 16;超過 16 時交給 rdma_cm 取
 * 「對方要求的」與裝置上限的較小者,RDMA_MAX_*);傳輸重試與
 * RNR 重試都是有限的次數,見檔頭與 RETRY_COUNT / RNR_RETRY。注意 IB CM 的規定:連線要求(REQ)裡的
 * retry_count / rnr_retry_count 是「被動端」(伺服器)的 QP 要用的,接受(REP)裡的 rnr_retry_count
 * 是客戶端的 QP 要用的,rdma_accept 的 retry_count 被忽略 —— 所以伺服器要檢查客戶端要求的數字
 * (server_admit())。客戶端同時能有幾個 READ 由伺服器的 responder_resources 決定(REP 帶回去)。
 */
static struct rdma_conn_param conn_param(const void *pdata, uint8_t len, const struct layout *l)
{
	return (struct rdma_conn_param){
		.private_data = pdata,
		.private_data_len = len,
		.responder_resources = (uint8_t)(l->rd_in <= 16 ? l->rd_in : RDMA_MAX_RESP_RES),
		.initiator_depth = (uint8_t)(l->rd_out <= 16 ? l->rd_out : RDMA_MAX_INIT_DEPTH),
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
	cp = conn_param(&h, sizeof(h), &c->lay);
	/* 期限從這裡重新算:它給的是伺服器回應的時間,不含本地註冊大塊記憶體(忙碌的機器上可能要好幾秒) */
	deadline = now_ns() + CONNECT_TIMEOUT_MS * 1000000ull;
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
	warn_limits(c, ntohl(w.max_secs), ntohl(w.max_ops));
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
	conn_disconnect(c, 1000);
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
	printf("SUMMARY role=client test=demo verify=fail end=%s status=%s\n", end_names[end_flag(c)], status_of(r));
	return -1;
}

/*
 * 伺服器:主執行緒監聽並處理連線要求(server_admit:上限與公平),每條連線交給自己的執行緒(serve_one);
 * 等別人讓位的要求排在 server_pending() 裡;每秒印統計(server_tick)。
 */
static int server_limits(struct server *s);
static void server_admit(struct server *s, struct rdma_cm_event *ev);
static bool pending_event(struct server *s, struct rdma_cm_event *ev);
static void server_pending(struct server *s, bool all);
static void server_reap(struct server *s, bool all);

static int run_server(const struct config *cfg)
{
	struct server srv = { .cfg = cfg }, *s = &srv;
	struct sockaddr_storage addr;
	struct sockaddr_in *sin = (struct sockaddr_in *)&addr;
	bool have_local;
	char ip[INET6_ADDRSTRLEN];
	uint64_t t0, last[4] = { 0 }, last_cpu, last_t, next_tick;
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
	if (server_limits(s))
		return 1;
	pthread_mutex_init(&s->lock, NULL);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	s->spin_max = s->spin_free = ncpu > 2 ? (int)ncpu - 1 : 1;

	s->ec = rdma_create_event_channel();
	if (!s->ec) {
		fprintf(stderr, "錯誤:rdma_create_event_channel 失敗:%s(需要 rdma_ucm 模組)\n", strerror(errno));
		goto out_peers;
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
	if (rdma_listen(s->listen_id, (int)s->max_clients)) {
		fprintf(stderr, "錯誤:rdma_listen 失敗:%s\n", strerror(errno));
		goto out_id;
	}
	if (s->listen_id->verbs)
		print_device(s->listen_id->verbs, s->listen_id->port_num, 0);
	printf("伺服器在 %s:%d 等待客戶端(最多同時 %u 個、每個位址 %u 個;記憶體上限 %" PRIu64 " MiB、每個位址 %.0f MiB;"
	       "每個工作階段最多 %u 秒、%u 次操作;同時忙碌輪詢最多 %d 條連線;Ctrl-C 結束%s)…\n",
	       addr_str((struct sockaddr *)&addr, ip, sizeof(ip)), cfg->port, s->max_clients, s->max_per_peer,
	       cfg->max_mem >> 20, s->max_peer_mem / 1048576.0, cfg->max_secs, cfg->max_ops, s->spin_max,
	       cfg->once ? ",服務一個客戶端後結束" : "");
	ret = 0;
	t0 = last_t = now_ns();
	last_cpu = process_cpu_ns();
	next_tick = t0 + 1000000000ull;
	for (int k = 0; k < LOG_KINDS; k++)
		s->tokens[k] = LOG_BURST;
	while (!stop) {
		struct pollfd pfd = { .fd = s->ec->fd, .events = POLLIN };
		struct rdma_cm_event *ev;
		uint64_t t = now_ns();
		int wait = t < next_tick ? (int)((next_tick - t) / 1000000) + 1 : 0;

		poll(&pfd, 1, s->pending && wait > 20 ? 20 : wait); /* 有人在等讓位時常常回來看 */
		while (!rdma_get_cm_event(s->ec, &ev)) {
			if (ev->event == RDMA_CM_EVENT_CONNECT_REQUEST) {
				server_admit(s, ev); /* 它負責 ack 這個事件 */
				continue;
			}
			if (pending_event(s, ev))
				continue; /* 等讓位的客戶端放棄了;它負責 ack */
			if (ev->event == RDMA_CM_EVENT_DEVICE_REMOVAL) {
				fprintf(stderr, "錯誤:RDMA 裝置被移除,伺服器結束\n");
				ret = 1;
				stop = 1;
			}
			rdma_ack_cm_event(ev);
		}
		server_reap(s, false);
		server_pending(s, false);
		if (now_ns() >= next_tick) {
			server_tick(s, t0, last, &last_cpu, &last_t);
			next_tick += 1000000000ull;
			if (next_tick < now_ns())
				next_tick = now_ns() + 1000000000ull;
		}
		if (cfg->once && s->ok + s->lost + s->ended + s->rej_server > 0 && !s->active && !s->pending)
			break;
	}
	server_pending(s, true); /* 還在等的:以「已滿」拒絕 */
	server_reap(s, true);	 /* 各連線執行緒看到 stop 會自己結束(告訴客戶端伺服器正在關閉);等它們全部拆除完 */
	server_tick(s, t0, last, &last_cpu, &last_t); /* 最後一秒的彙總 */
	uint64_t rej = s->rej_busy + s->rej_mem + s->rej_bad + s->rej_peer + s->rej_server;

	printf("伺服器結束:連線要求 %" PRIu64 " 個:完成 %" PRIu64 "、中途離線 %" PRIu64 "、被伺服器結束 %" PRIu64
	       "(其中讓位 %" PRIu64 ")、拒絕 %" PRIu64 "(已滿 %" PRIu64 "、要求太大 %" PRIu64 "、位址上限 %" PRIu64
	       "、參數不合理 %" PRIu64 "、伺服器端錯誤 %" PRIu64 ")\n",
	       s->requests, s->ok, s->lost, s->ended, s->yielded, rej, s->rej_busy, s->rej_mem, s->rej_peer,
	       s->rej_bad, s->rej_server);
	printf("  同時連線最多 %u 個,記憶體最多 %.1f MiB(上限 %" PRIu64 " MiB),伺服器 CPU 共 %.1f ms\n",
	       s->peak_active, s->mem_peak / 1048576.0, cfg->max_mem >> 20, process_cpu_ns() / 1e6);
	printf("SUMMARY role=server requests=%" PRIu64 " ok=%" PRIu64 " lost=%" PRIu64 " rejected=%" PRIu64
	       " rej_busy=%" PRIu64 " rej_mem=%" PRIu64 " rej_bad=%" PRIu64 " rej_peer=%" PRIu64 " rej_server=%" PRIu64
	       " ended=%" PRIu64 " yielded=%" PRIu64 " peak_clients=%u peak_mem_kib=%" PRIu64 " cpu_ms=%.1f status=%s\n",
	       s->requests, s->ok, s->lost, rej, s->rej_busy, s->rej_mem, s->rej_bad, s->rej_peer, s->rej_server,
	       s->ended, s->yielded, s->peak_active, s->mem_peak >> 10, process_cpu_ns() / 1e6, ret ? "error" : "ok");
out_id:
	rdma_destroy_id(s->listen_id);
out_channel:
	rdma_destroy_event_channel(s->ec);
out_peers:
	pthread_mutex_destroy(&s->lock);
	free(s->peers);
	return ret;
}

/*
 * 實際生效的上限。每條連線要 FDS_PER_CONN 個檔案描述子:RLIMIT_NOFILE 的軟上限不夠 --max-clients 用時
 * 調高(硬上限也不夠時試著一起調高,需要特權);還是不夠就把 --max-clients 降到放得下的數目,印一行原因
 * —— 否則第 N 條連線會在 rdma_create_event_channel 得到 EMFILE。每個位址的上限預設是總數的四分之一。
 */
static int server_limits(struct server *s)
{
	const struct config *cfg = s->cfg;
	rlim_t need = FDS_BASE + (rlim_t)FDS_PER_CONN * cfg->max_clients;
	struct rlimit rl;

	s->max_clients = cfg->max_clients;
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
		rlim_t was = rl.rlim_cur;
		struct rlimit want = { .rlim_cur = need, .rlim_max = rl.rlim_max < need ? need : rl.rlim_max };

		if (setrlimit(RLIMIT_NOFILE, &want)) {
			want = (struct rlimit){ .rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max };
			setrlimit(RLIMIT_NOFILE, &want);
		}
		getrlimit(RLIMIT_NOFILE, &rl);
		if (rl.rlim_cur >= need) {
			printf("檔案描述子上限(RLIMIT_NOFILE)從 %llu 調高到 %llu:--max-clients %u 每條連線要 %d 個\n",
			       (unsigned long long)was, (unsigned long long)rl.rlim_cur, cfg->max_clients, FDS_PER_CONN);
		} else {
			long fit = ((long)rl.rlim_cur - FDS_BASE) / FDS_PER_CONN;

			if (fit < 1) {
				fprintf(stderr, "錯誤:檔案描述子上限(ulimit -n)只有 %llu,連一條連線都不夠(需要至少 %d);"
					"請提高 ulimit -n\n", (unsigned long long)rl.rlim_cur, FDS_BASE + FDS_PER_CONN);
				return -1;
			}
			s->max_clients = (uint32_t)fit;
			printf("注意:--max-clients 從 %u 降為 %u:檔案描述子上限(ulimit -n)只有 %llu 又無法調高,每條連線要 %d 個"
			       "(要服務 %u 個,請把 ulimit -n 提高到 %llu)\n", cfg->max_clients, s->max_clients,
			       (unsigned long long)rl.rlim_cur, FDS_PER_CONN, cfg->max_clients, (unsigned long long)need);
		}
	}
	s->max_per_peer = cfg->max_per_peer ? cfg->max_per_peer : s->max_clients / 4;
	if (s->max_per_peer > s->max_clients)
		s->max_per_peer = s->max_clients;
	if (!s->max_per_peer)
		s->max_per_peer = 1;
	s->max_peer_mem = cfg->max_peer_mem ? cfg->max_peer_mem : cfg->max_mem / 4;
	if (s->max_peer_mem < (1u << 20))
		s->max_peer_mem = 1u << 20 < cfg->max_mem ? 1u << 20 : cfg->max_mem;
	s->npeers = s->max_clients + MAX_PENDING;
	s->peers = calloc(s->npeers, sizeof(*s->peers));
	if (!s->peers) {
		fprintf(stderr, "錯誤:配置記憶體失敗\n");
		return -1;
	}
	return 0;
}

/* 在我們這一端配置失敗(不是對方的錯):拒絕並帶上 errno,客戶端才不會以為「沒有伺服器」 */
static void refuse_server_error(struct rdma_cm_id *id, int err)
{
	struct refusal rf = {
		.magic = htonl(HELLO_MAGIC),
		.reason = REFUSE_SERVER,
		.detail = (uint8_t)(err > 0 && err < 256 ? err : 0),
	};

	rdma_reject(id, &rf, sizeof(rf));
}

static const char *kib_str(uint32_t kib, char *buf, size_t len);

static uint32_t kib(uint64_t bytes)
{
	return bytes >= (1ull << 42) ? UINT32_MAX : (uint32_t)((bytes + 1023) >> 10);
}

/* 來源位址的鍵:IPv4 是整個位址;IPv6 取前 64 位元(一台主機通常握有整個 /64,換位址不能多拿一份) */
static void peer_key(const struct sockaddr *sa, char *buf, size_t len)
{
	struct sockaddr_in6 v6;

	if (sa->sa_family != AF_INET6) {
		addr_str(sa, buf, len);
		return;
	}
	memcpy(&v6, sa, sizeof(v6));
	memset(&v6.sin6_addr.s6_addr[8], 0, 8);
	addr_str((struct sockaddr *)&v6, buf, len);
	strncat(buf, "/64", len - strlen(buf) - 1);
}

/* 找(或新增)一個位址的紀錄;沒有任何連線的紀錄可以重用。在 s->lock 之下呼叫 */
static struct peer *peer_find(struct server *s, const char *key)
{
	struct peer *free_slot = NULL;

	for (uint32_t i = 0; i < s->npeers; i++) {
		struct peer *p = &s->peers[i];

		if (p->conns && !strcmp(p->addr, key))
			return p;
		if (!p->conns && !free_slot)
			free_slot = p;
	}
	if (free_slot)
		snprintf(free_slot->addr, sizeof(free_slot->addr), "%s", key);
	return free_slot;
}

/*
 * 伺服器滿了:請誰讓位。缺的(連線數及 / 或記憶體,扣掉已經在讓位中的)每次向「持有最多的位址」
 * (缺記憶體時比記憶體,否則比連線數;都不算已在讓位的)要一個工作階段:缺記憶體時是它最大的,
 * 否則是它最舊的,直到夠了。只有那個位址「讓位之後」持有的仍不少於新來的位址「接受之後」的,
 * 才請它讓位:誰持有較多永遠不會因為讓位而顛倒,所以位址之間不會互相擠來擠去,佔最多的位址最多
 * 被擠到和別人一樣多。湊不夠就誰都不動(回傳 false)。主執行緒在 s->lock 之下呼叫。
 */
static bool plan_yield(struct server *s, struct peer *p, uint64_t need)
{
	struct conn *pick[64];
	int n = 0;
	int64_t short_conns = (int64_t)s->active + s->npending + 1 - s->max_clients;
	int64_t short_mem = (int64_t)(s->mem_used + s->pending_mem + need) - (int64_t)s->cfg->max_mem;

	for (uint32_t i = 0; i < s->npeers; i++) {
		short_conns -= s->peers[i].yielding;
		short_mem -= (int64_t)s->peers[i].yield_mem;
	}
	while ((short_conns > 0 || short_mem > 0) && n < 64) {
		bool by_mem = short_mem > 0;
		struct peer *top = NULL;
		struct conn *v = NULL;

		for (uint32_t i = 0; i < s->npeers; i++) {
			struct peer *q = &s->peers[i];

			if (q == p || !q->conns)
				continue;
			if (!top || (by_mem ? q->mem - q->yield_mem > top->mem - top->yield_mem
					    : q->conns - q->yielding > top->conns - top->yielding))
				top = q;
		}
		if (!top)
			break;
		for (struct conn *c = s->conns; c; c = c->next) {
			if (&s->peers[c->peer_slot] != top || c->yield || __atomic_load_n(&c->finished, __ATOMIC_ACQUIRE))
				continue;
			if (!v || (by_mem ? c->need > v->need || (c->need == v->need && c->num < v->num) : c->num < v->num))
				v = c;
		}
		if (!v || (by_mem ? top->mem - top->yield_mem - v->need < p->mem + need
				  : top->conns - top->yielding - 1 < p->conns + 1))
			break;
		__atomic_store_n(&v->yield, 2, __ATOMIC_RELAXED); /* 暫定:湊不夠時要還原(執行緒只認 1) */
		top->yielding++;
		top->yield_mem += v->need;
		short_conns--;
		short_mem -= (int64_t)v->need;
		pick[n++] = v;
	}
	bool enough = short_conns <= 0 && short_mem <= 0;

	for (int i = 0; i < n; i++) {
		struct peer *q = &s->peers[pick[i]->peer_slot];

		if (!enough) {
			__atomic_store_n(&pick[i]->yield, 0, __ATOMIC_RELAXED);
			q->yielding--;
			q->yield_mem -= pick[i]->need;
			continue;
		}
		__atomic_store_n(&pick[i]->yield, 1, __ATOMIC_RELEASE);
		s->yielded++;
		conn_note(pick[i], "伺服器已滿:這個位址(%s)持有最多(%u 條、%.1f MiB),這個工作階段讓位給其他位址的新連線",
			  q->addr, q->conns, q->mem / 1048576.0);
	}
	return enough;
}

enum verdict { ADMIT, WAIT, REFUSE };

/*
 * 一個 hello 合理的連線要求能不能進來,依序:這個要求本身就超過每個位址的記憶體上限(只有這時怪它的
 * 參數)、它的位址已持有它的份、伺服器還有空間(接受)、伺服器滿了但可以請持有最多的位址讓位(等)、
 * 伺服器滿了(拒絕,不附任何數字)。接受或等待時替它預約;在 s->lock 之下呼叫。
 */
static enum verdict judge(struct server *s, const char *key, uint64_t need, struct refusal *rf, int *slot)
{
	struct peer *p = NULL;
	bool conns_ok = s->active + s->npending < s->max_clients;
	bool mem_ok = s->mem_used + s->pending_mem + need <= s->cfg->max_mem;
	enum verdict v;

	if (need > s->max_peer_mem) {
		rf->reason = REFUSE_MEM;
		rf->need = htonl(kib(need));
		rf->limit = htonl(kib(s->max_peer_mem));
		s->rej_mem++;
		return REFUSE;
	}
	p = peer_find(s, key);
	if (p && (p->conns >= s->max_per_peer || p->mem + need > s->max_peer_mem)) {
		bool by_conns = p->conns >= s->max_per_peer;

		rf->reason = REFUSE_PEER;
		rf->detail = by_conns ? FULL_CONNS : FULL_MEM;
		rf->limit = htonl(by_conns ? s->max_per_peer : kib(s->max_peer_mem));
		rf->used = htonl(by_conns ? p->conns : kib(p->mem));
		s->rej_peer++;
		return REFUSE;
	}
	v = !p				    ? REFUSE
	    : conns_ok && mem_ok	    ? ADMIT
	    : s->npending >= MAX_PENDING ? REFUSE
	    : plan_yield(s, p, need)	    ? WAIT
					    : REFUSE;
	if (v == REFUSE) {
		rf->reason = REFUSE_BUSY;
		rf->detail = conns_ok ? FULL_MEM : FULL_CONNS;
		s->rej_busy++;
		return REFUSE;
	}
	p->conns++;
	p->mem += need;
	*slot = (int)(p - s->peers);
	if (v == WAIT) {
		s->npending++;
		s->pending_mem += need;
	} else {
		s->active++;
		s->mem_used += need;
		if (s->active > s->peak_active)
			s->peak_active = s->active;
		if (s->mem_used > s->mem_peak)
			s->mem_peak = s->mem_used;
	}
	return v;
}

/* 一個拒絕印一行(有記錄額度時);沒有額度就只計數,由 server_tick 每秒彙總 */
static void log_refusal(struct server *s, uint64_t num, const char *ip, const struct refusal *rf, uint64_t need)
{
	static const char *const why[] = {
		"?", "伺服器已滿", "這個要求本身超過每個位址的記憶體上限", "參數不合理或不是本程式的協定",
		"伺服器端錯誤", "這個位址已持有它的份",
	};
	uint8_t r = rf->reason <= REFUSE_PEER ? rf->reason : 0;
	char a[32], b[32];

	if (s->tokens[LOG_REFUSE] <= 0) {
		s->muted_refusals[r]++;
		return;
	}
	s->tokens[LOG_REFUSE]--;
	printf("[#%" PRIu64 "] 拒絕 %s 的連線要求:%s", num, ip, why[r]);
	if (r == REFUSE_BUSY || r == REFUSE_PEER)
		printf("(%s)", rf->detail == FULL_MEM ? "記憶體" : "連線數");
	if (r == REFUSE_MEM)
		printf("(需要 %s,上限 %s)", kib_str(kib(need), a, sizeof(a)), kib_str(kib(s->max_peer_mem), b, sizeof(b)));
	printf("\n");
}

/* 為一個(要接受或要等待的)連線要求建立 struct conn;工作階段的上限在這裡決定,放進 welcome 告訴客戶端 */
static struct conn *new_conn(struct server *s, struct rdma_cm_id *id, const struct hello *h, const struct layout *lay,
			     uint32_t depth, uint64_t num, const char *ip, int slot)
{
	const struct config *cfg = s->cfg;
	struct conn *c = calloc(1, sizeof(*c));
	uint32_t secs = cfg->max_secs;

	if (!c)
		return NULL;
	c->cfg = cfg;
	c->srv = s;
	c->role = ROLE_SERVER;
	c->num = num;
	c->need = lay->cost;
	c->id = id;
	c->lay = *lay;
	c->test = h->test;
	c->op = h->op;
	c->use_imm = h->use_imm;
	c->size = ntohl(h->size);
	c->depth = depth;
	c->iters = h->test == TEST_DEMO ? 3 : ntohl(h->iters);
	c->duration = ntohl(h->duration);
	c->peer_win = ntohl(h->win_len);
	c->peer_rkey = ntohl(h->win_rkey);
	c->event = cfg->event;
	c->peer_slot = slot;
	c->observed = c->test != TEST_DEMO && (c->op == OP_SEND || (c->test == TEST_LAT && c->op == OP_WRITE));
	if (c->duration && c->duration + SESSION_GRACE_S < secs)
		secs = c->duration + SESSION_GRACE_S;
	c->max_secs = secs;
	c->max_ops = c->iters && c->iters < cfg->max_ops ? c->iters : cfg->max_ops;
	c->logged = s->tokens[LOG_SESSION] > 0;
	if (c->logged)
		s->tokens[LOG_SESSION]--;
	snprintf(c->tag, sizeof(c->tag), "[#%" PRIu64 "] ", num);
	snprintf(c->peer, sizeof(c->peer), "%s", ip);
	return c;
}

/* 把預約還回去(連線結束、等待逾時或開始失敗);在 s->lock 之下呼叫 */
static void release_slot(struct server *s, struct conn *c, bool pending)
{
	struct peer *p = &s->peers[c->peer_slot];

	p->conns--;
	p->mem -= c->need;
	if (c->yield == 1) {
		p->yielding--;
		p->yield_mem -= c->need;
	}
	if (pending) {
		s->npending--;
		s->pending_mem -= c->need;
	} else {
		s->active--;
		s->mem_used -= c->need;
	}
}

/* 放棄一個還沒開始服務的連線要求:拆掉 cm_id、還回預約、記在 counter 上 */
static void drop_request(struct server *s, struct conn *c, bool pending, uint64_t *counter)
{
	rdma_destroy_id(c->id);
	if (c->ec)
		rdma_destroy_event_channel(c->ec);
	pthread_mutex_lock(&s->lock);
	release_slot(s, c, pending);
	(*counter)++;
	pthread_mutex_unlock(&s->lock);
	free(c);
}

/* 開始服務:cm_id 搬到這條連線自己的 event channel,交給新執行緒。失敗時以「伺服器端錯誤」拒絕 */
static void *conn_thread(void *arg);

static void start_conn(struct server *s, struct conn *c)
{
	pthread_attr_t ta;
	sigset_t all, old;
	int e = 0;

	c->ec = rdma_create_event_channel();
	if (!c->ec || rdma_migrate_id(c->id, c->ec)) {
		e = errno;
		conn_note(c, "錯誤:無法為新連線建立 event channel:%s", strerror(e));
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
		conn_note(c, "錯誤:pthread_create 失敗:%s", strerror(e));
		goto undo;
	}
	c->next = s->conns;
	s->conns = c;
	return;
undo:
	refuse_server_error(c->id, e);
	drop_request(s, c, false, &s->rej_server);
}

/*
 * 一個連線要求:先檢查 hello 與上限(什麼都還沒配置),不行就帶原因拒絕;可以就預約它的名額與記憶體
 * 並開始服務;伺服器滿了但有人會讓位時,排進 pending 等(見 judge())。
 */
static void server_admit(struct server *s, struct rdma_cm_event *ev)
{
	struct rdma_cm_id *id = ev->id;
	struct refusal rf = { .magic = htonl(HELLO_MAGIC) };
	struct hello h;
	struct layout lay;
	struct conn *c = NULL;
	char ip[INET6_ADDRSTRLEN], key[INET6_ADDRSTRLEN + 4];
	uint8_t detail = BAD_PROTO;
	uint32_t depth = 0;
	uint64_t num = ++s->requests;
	enum verdict v = REFUSE;
	int slot = -1;

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
	}
	addr_str(rdma_get_peer_addr(id), ip, sizeof(ip));
	peer_key(rdma_get_peer_addr(id), key, sizeof(key));

	pthread_mutex_lock(&s->lock);
	if (detail) {
		rf.reason = REFUSE_BAD;
		rf.detail = detail;
		s->rej_bad++;
	} else {
		v = judge(s, key, lay.cost, &rf, &slot);
	}
	if (v != REFUSE) {
		c = new_conn(s, id, &h, &lay, depth, num, ip, slot);
		if (!c) {
			release_slot(s, &(struct conn){ .peer_slot = slot, .need = lay.cost }, v == WAIT);
			rf = (struct refusal){ .magic = htonl(HELLO_MAGIC), .reason = REFUSE_SERVER, .detail = ENOMEM };
			s->rej_server++;
			v = REFUSE;
		}
	}
	pthread_mutex_unlock(&s->lock);
	rdma_ack_cm_event(ev); /* rdma_migrate_id 要等這個 id 的事件都 ack 了才會搬 */
	if (v == REFUSE) {
		log_refusal(s, num, ip, &rf, lay.cost);
		rdma_reject(id, &rf, sizeof(rf));
		rdma_destroy_id(id);
		return;
	}
	if (v == ADMIT) {
		start_conn(s, c);
		return;
	}
	c->deadline_ns = now_ns() + EVICT_WAIT_MS * 1000000ull;
	conn_note(c, "%s 的連線要求等其他位址讓位(最多 %d 秒)", ip, EVICT_WAIT_MS / 1000);
	struct conn **tail = &s->pending;

	while (*tail)
		tail = &(*tail)->next;
	*tail = c;
}

/* 等讓位的連線要求:先來先服務;空間夠了就開始服務,逾時(或 all:伺服器要結束了)就以「已滿」拒絕 */
static void server_pending(struct server *s, bool all)
{
	while (s->pending) {
		struct conn *c = s->pending;
		bool late = all || now_ns() > c->deadline_ns, fits;

		pthread_mutex_lock(&s->lock);
		fits = !all && s->active < s->max_clients && s->mem_used + c->need <= s->cfg->max_mem;
		if (fits) { /* 預約變成服務中 */
			s->npending--;
			s->pending_mem -= c->need;
			s->active++;
			s->mem_used += c->need;
			if (s->active > s->peak_active)
				s->peak_active = s->active;
			if (s->mem_used > s->mem_peak)
				s->mem_peak = s->mem_used;
		}
		pthread_mutex_unlock(&s->lock);
		if (!fits && !late)
			return;
		s->pending = c->next;
		c->next = NULL;
		if (fits) {
			conn_note(c, "其他位址讓位之後開始服務(等了 %.1f 秒)",
				  (now_ns() + EVICT_WAIT_MS * 1000000ull - c->deadline_ns) / 1e9);
			start_conn(s, c);
			continue;
		}
		struct refusal rf = { .magic = htonl(HELLO_MAGIC), .reason = REFUSE_BUSY, .detail = FULL_CONNS };

		log_refusal(s, c->num, c->peer, &rf, c->need);
		rdma_reject(c->id, &rf, sizeof(rf));
		drop_request(s, c, true, &s->rej_busy);
	}
}

/* 監聽 channel 上屬於等待中連線要求的事件(客戶端放棄了):移除它。回傳 true = 已處理(並 ack) */
static bool pending_event(struct server *s, struct rdma_cm_event *ev)
{
	for (struct conn **pp = &s->pending; *pp; pp = &(*pp)->next) {
		struct conn *c = *pp;

		if (c->id != ev->id)
			continue;
		*pp = c->next;
		rdma_ack_cm_event(ev);
		drop_request(s, c, true, &s->lost);
		return true;
	}
	return false;
}

/*
 * 一條連線的伺服器端:註冊 → 接受 → 等 ESTABLISHED → 依客戶端的要求服務 → 中斷。
 * 結果:0 完成,1 被伺服器結束(上限、讓位),2 伺服器自己配置失敗而拒絕了它(算在拒絕裡,
 * 不是「中途離線」:客戶端收到的就是拒絕),-1 中途離線或出錯。
 */
static enum wait_result serve_demo(struct conn *c);
static void report_session(struct conn *c, enum wait_result r, uint64_t t0);
static void send_end(struct conn *c, enum wait_result r);

static int serve_one(struct conn *c)
{
	struct rdma_conn_param cp;
	struct welcome w;
	enum wait_result r;
	uint64_t t0 = now_ns();

	if (c->test == TEST_DEMO)
		conn_note(c, "%s 連入:示範(問候 + WRITE/READ 驗證)", c->peer);
	else
		conn_note(c, "%s 連入:測試 %s,操作 %s%s,%u 位元組,%s %u%s,深度 %u%s", c->peer, test_names[c->test],
			  op_names[c->op], c->use_imm ? "(WRITE_WITH_IMM)" : "", c->size, c->duration ? "時間" : "次數",
			  c->duration ? c->duration : c->iters, c->duration ? " 秒" : "", c->depth,
			  c->event ? ",伺服器等待完成事件" : "");

	/* 3. 註冊記憶體、建立 QP、post RECV(額度已在 server_admit 保留) */
	if (conn_setup(c)) {
		conn_note(c, "錯誤:%s", c->why);
		refuse_server_error(c->id, c->err);
		return 2;
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
		.max_secs = htonl(c->max_secs),
		.max_ops = htonl((uint32_t)c->max_ops),
	};
	cp = conn_param(&w, sizeof(w), &c->lay);
	if (rdma_accept(c->id, &cp)) {
		conn_note(c, "錯誤:rdma_accept 失敗:%s", strerror(errno));
		return -1;
	}
	set_min_rnr_timer(c);
	if (expect_event(c, RDMA_CM_EVENT_ESTABLISHED, now_ns() + CONNECT_TIMEOUT_MS * 1000000ull, NULL, 0))
		return -1;
	c->connected = true;
	print_path(c);
	c->t_est = c->last_peer_ns = c->last_progress_ns = now_ns();
	c->end_ns = c->t_est + c->max_secs * 1000000000ull;
	c->next_keepalive_ns = c->last_peer_ns + KEEPALIVE_MS * 1000000ull;
	c->link_bps = port_rate(c->id->verbs, c->id->port_num);
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
	send_end(c, r);	 /* 伺服器結束它的(上限、讓位、沒有進展、伺服器關閉):先告訴客戶端原因 */
	report_session(c, r, t0);

	/* 6. 中斷連線(伺服器結束它的不等對方回應:名額要儘快空出來) */
	conn_disconnect(c, r == WAIT_OK || r == WAIT_GONE ? 1000 : 100);
	return r == WAIT_OK ? 0 : r == WAIT_ENDED ? 1 : -1;
}

static void *conn_thread(void *arg)
{
	struct conn *c = arg;
	struct server *s = c->srv;
	int r = serve_one(c);

	spin_release(c);
	conn_teardown(c); /* 包括 rdma_destroy_id 與這條連線的 event channel */
	pthread_mutex_lock(&s->lock);
	release_slot(s, c, false);
	if (r == 0)
		s->ok++;
	else if (r == 1)
		s->ended++;
	else if (r == 2)
		s->rej_server++;
	else
		s->lost++;
	if (!c->logged) /* 沒有逐行印出的連線:結果進每秒的彙總 */
		r == 0 ? s->muted_ok++ : r == 1 ? s->muted_ended++ : r == 2 ? s->muted_setup++ : s->muted_lost++;
	/*
	 * 在 lock 之下標記結束:plan_yield()(也在 lock 之下)略過 finished 的連線。在 unlock 之後才標記的話,
	 * 主執行緒可能選中一條已經還回名額的連線讓位,那個位址的 yielding 就永遠多算一條。
	 */
	__atomic_store_n(&c->finished, 1, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&s->lock);
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
		s->retired_rops += __atomic_load_n(&c->st_rops, __ATOMIC_RELAXED);
		s->retired_rbytes += __atomic_load_n(&c->st_rbytes, __ATOMIC_RELAXED);
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
	conn_note(c, "收到客戶端的 SEND(%u 位元組):%s", c->text_len + 1, shown);
	conn_note(c, "以 SEND 回覆:%s", REPLY);
	if (post_text(c, REPLY))
		return WAIT_FAILED;
	conn_note(c, "等待客戶端的 RDMA WRITE / READ(伺服器 CPU 不參與,只等結束訊號)…");
	if ((r = wait_until(c, have_done, 0, WAKE_CQE_SLEEP)))
		return r;
	ok = !memcmp(c->win, WRITE_TEXT, sizeof(WRITE_TEXT));
	printable(c->win, sizeof(WRITE_TEXT) - 1, shown, sizeof(shown));
	conn_note(c, "客戶端寫進視窗的內容:%s", shown);
	conn_note(c, "伺服器端驗證:%s", ok ? "內容正確" : "內容不正確!");
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

/* 延遲測試的 ping-pong(SEND 或 WRITE_WITH_IMM):回覆本身就帶著 credit,不另送 'C'(見檔頭的線路協定) */
static bool credit_in_reply(struct conn *c)
{
	return c->test == TEST_LAT && (c->op == OP_SEND || c->use_imm);
}

/* 伺服器:每重新 post 四分之一的 RECV 就回報一次 credit(在 poll_cq 之後送,不在 CQE 處理中遞迴) */
static void maybe_send_credit(struct conn *c)
{
	uint32_t batch = c->lay.nrecv / 4 ? c->lay.nrecv / 4 : 1;
	struct ctrl m = { .type = MSG_CREDIT };

	if (c->role != ROLE_SERVER || credit_in_reply(c) || c->reposted - c->credit_sent < batch)
		return;
	m.a = htobe64(c->reposted);
	if (post_msg(c, &m, sizeof(m), false) == 0)
		c->credit_sent = c->reposted;
}

/* 伺服器自己看到的操作數與位元組(給每秒統計) */
static void publish(struct conn *c, uint64_t ops, uint64_t bytes)
{
	__atomic_store_n(&c->st_ops, ops, __ATOMIC_RELAXED);
	__atomic_store_n(&c->st_bytes, bytes, __ATOMIC_RELAXED);
	c->last_progress_ns = now_ns();
}

/*
 * 單邊操作伺服器看不到,只能用客戶端的回報 —— 但只採信物理上可能的部分:不超過約定的次數,也不超過
 * 「埠的速率 × 建立以來的時間」搬得完的(每次至少 size + 64 位元組的標頭)加一個深度的餘裕。
 * 回報的次數真的增加才算進展;統計裡它標成「回報」,與伺服器自己看到的分開。
 */
static void take_report(struct conn *c, uint64_t v)
{
	double cap = c->link_bps * (double)(now_ns() - c->t_est) / 1e9 / ((double)c->size + 64) + c->depth + 1;

	if (c->iters && v > c->iters)
		v = c->iters;
	if ((double)v > cap)
		v = (uint64_t)cap;
	if (v <= c->rep_ops)
		return;
	c->rep_ops = v;
	__atomic_store_n(&c->st_rops, v, __ATOMIC_RELAXED);
	__atomic_store_n(&c->st_rbytes, v * c->size, __ATOMIC_RELAXED);
	c->last_progress_ns = now_ns();
}

/* 伺服器認定的操作數:自己看得到的就是自己數的,單邊操作是有上限的回報 */
static uint64_t server_ops(const struct conn *c)
{
	return c->observed ? c->recvs : c->rep_ops;
}

static int protocol_error(struct conn *c, const char *what, unsigned v)
{
	snprintf(c->why, sizeof(c->why), "對方違反協定:%s(0x%02x)", what, v);
	c->failed = c->violation = true;
	return -1;
}

/*
 * 收到一則 SEND:依第一個位元組的種類處理。不合協定就關閉這條連線。
 * 客戶端的延遲測試:回覆代表伺服器已補回這個 ping 之前用掉的所有 RECV(credit 搭著回覆回來)。
 */
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
		else if (c->ping_sends > c->peer_reposted)
			c->peer_reposted = c->ping_sends;
		return 0;
	case MSG_TEXT:
		if (c->test != TEST_DEMO || c->got_text)
			return protocol_error(c, "多出來的文字訊息", p[0]);
		c->text_len = len - 1 < sizeof(c->text) ? len - 1 : (uint32_t)sizeof(c->text);
		memcpy(c->text, p + 1, c->text_len);
		c->got_text = true;
		c->last_progress_ns = now_ns();
		return 0;
	}
	if (len < sizeof(m))
		return protocol_error(c, "控制訊息太短", p[0]);
	memcpy(&m, p, sizeof(m));
	m.a = be64toh(m.a);
	m.b = be64toh(m.b);
	switch (server ? (int)m.type | 0x100 : (int)m.type) {
	case MSG_ALIVE | 0x100:
		if (!c->observed)
			take_report(c, m.a); /* 單邊操作:伺服器看不到,只能靠(有上限的)回報 */
		return 0;
	case MSG_DONE | 0x100:
		if (c->got_done)
			return protocol_error(c, "重複的結束訊息", m.type);
		if (!c->observed)
			take_report(c, m.a);
		c->done = m;
		c->got_done = true;
		c->last_progress_ns = now_ns();
		return 0;
	case MSG_ACK:
		c->ack = m;
		c->got_ack = true;
		return 0;
	case MSG_CREDIT:
		if (m.a > c->sends)
			return protocol_error(c, "credit 數字不合理", m.type);
		if (m.a > c->peer_reposted)
			c->peer_reposted = m.a;
		return 0;
	case MSG_END:
		c->end = m;
		c->got_end = true;
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
		else if (c->ping_sends > c->peer_reposted)
			c->peer_reposted = c->ping_sends;
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
	n = poll(pfd, 2, ms);
	/*
	 * rdma_cm 事件(例如對方的 DISCONNECTED)到了:wait_until() 下一次看時鐘時就去讀它。不這樣的話,
	 * 事件讀走之前 channel 一直可讀,poll 立刻返回,執行緒會空轉到下一個 100 ms 的 check_cm()。
	 */
	if (n > 0 && (pfd[1].revents & POLLIN))
		c->next_cm_ns = 0;
	if (n > 0 && (pfd[0].revents & POLLIN) && !ibv_get_cq_event(c->cc, &cq, &ctx)) {
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
 * 伺服器:這個工作階段該結束了嗎 —— 被要求讓位、超過次數、超過時間(now 不是 0 時才看時鐘)。
 * 原因記在 c->end_reason;客戶端說了結束('E')之後就不再限制,讓它好好收尾。
 */
static bool session_over(struct conn *c, uint64_t now)
{
	if (c->got_done)
		return false;
	if (!c->end_reason && __atomic_load_n(&c->yield, __ATOMIC_ACQUIRE) == 1)
		c->end_reason = END_YIELD;
	if (!c->end_reason && server_ops(c) > c->max_ops)
		c->end_reason = END_OPS;
	if (!c->end_reason && now && now >= c->end_ns)
		c->end_reason = END_TIME;
	return c->end_reason != END_NONE;
}

/*
 * 等到 done(c, arg) 成立。每個等待都有期限:
 *   - 伺服器:對方 PEER_IDLE_MS 沒有「進展」(見檔頭)就回傳 WAIT_IDLE,工作階段超過上限或被要求讓位
 *     回傳 WAIT_ENDED(session_over());客戶端:伺服器 PEER_IDLE_MS 沒有任何動靜(沒有收到訊息、
 *     沒有看到它寫進來的資料、我們的操作也沒有完成)回傳 WAIT_IDLE,收到 'X' 回傳 WAIT_ENDED;
 *   - 伺服器每 KEEPALIVE_MS 送一次 keepalive,對方主機消失時得到 CQE 錯誤(WAIT_FAILED);
 *   - 對方中斷連線(rdma_cm 的 DISCONNECTED)回傳 WAIT_GONE;SIGINT / SIGTERM 回傳 WAIT_STOPPED。
 * 忙碌輪詢只在對方最近 SPIN_MS 內有動靜、而且(伺服器)拿得到名額時進行(見 enum wake 與
 * spin_allowed()),否則睡在 completion channel 上。時鐘每 64 圈看一次(次數跨呼叫累計,
 * 所以一直有 CQE 的 ping-pong 也會看到時間上限)。
 */
static enum wait_result wait_until(struct conn *c, cond_fn done, uint64_t arg, enum wake how)
{
	bool server = c->role == ROLE_SERVER;

	for (;;) {
		if (c->got_end || (server && session_over(c, 0)))
			return WAIT_ENDED;
		if (done(c, arg))
			return WAIT_OK;
		if (stop)
			return WAIT_STOPPED;
		int n = poll_cq(c);

		if (n < 0)
			return c->peer_gone ? WAIT_GONE : WAIT_FAILED;
		if (++c->spins & 63)
			continue; /* 有 CQE 就馬上再看條件;忙碌輪詢時每 64 圈才看一次時鐘 */

		uint64_t now = now_ns(), quiet = now - c->last_peer_ns;

		if (now >= c->next_cm_ns) {
			c->next_cm_ns = now + 100000000ull;
			check_cm(c);
			if (c->peer_gone && !done(c, arg) && poll_cq(c) == 0)
				return WAIT_GONE;
		}
		if (server && session_over(c, now))
			return WAIT_ENDED;
		if ((server ? now - c->last_progress_ns : quiet) > PEER_IDLE_MS * 1000000ull)
			return WAIT_IDLE;
		if (server && now >= c->next_keepalive_ns)
			send_keepalive(c, now);
		bool sleep = how == WAKE_CQE_SLEEP || quiet > SPIN_MS * 1000000ull ||
			     (how == WAKE_CQE_SPIN && c->event) || !spin_allowed(c);

		if (n > 0 || !sleep)
			continue;
		spin_release(c);
		if (sleep_for_cqe(c, how == WAKE_MEMORY ? 1 : 100) < 0)
			return c->peer_gone ? WAIT_GONE : WAIT_FAILED;
	}
}

/*
 * 伺服器結束一個工作階段(上限、讓位、沒有進展、伺服器正在關閉)時,先以 'X' 告訴客戶端原因,
 * 最多等 END_WAIT_MS 讓它送達(對方收不到也沒關係,接著就中斷連線)。
 */
static void send_end(struct conn *c, enum wait_result r)
{
	uint64_t deadline = now_ns() + END_WAIT_MS * 1000000ull, limit;
	struct ctrl m = { .type = MSG_END };

	if (r == WAIT_IDLE)
		c->end_reason = END_IDLE;
	else if (r == WAIT_STOPPED)
		c->end_reason = END_SHUTDOWN;
	else if (r != WAIT_ENDED)
		return;
	if (!c->connected || c->failed || c->peer_gone)
		return;
	limit = c->end_reason == END_TIME  ? c->max_secs
		: c->end_reason == END_OPS  ? c->max_ops
		: c->end_reason == END_IDLE ? PEER_IDLE_MS / 1000
					    : 0;
	m.flag = (uint8_t)c->end_reason;
	m.a = htobe64(limit);
	if (post_msg(c, &m, sizeof(m), false))
		return;
	while (c->completed < c->posted && now_ns() < deadline && sleep_for_cqe(c, 10) >= 0)
		;
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

/* 伺服器:客戶端說結束了 —— 回 'A'(附驗證結果、這段期間伺服器執行緒的 CPU 與伺服器認定的操作數) */
static enum wait_result finish_session(struct conn *c, bool ok)
{
	uint64_t cpu = thread_cpu_ns() - c->cpu0, ops = server_ops(c);

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
			if (post_op(c, IBV_WR_SEND, sge_send(c, 0, size), 0, 0, true)) {
				r = WAIT_FAILED;
				break;
			}
			c->ping_sends = c->sends; /* 回覆到了 = 這之前用掉的伺服器 RECV 都已補回 */
			r = wait_until(c, got_recvs, i + 1, WAKE_CQE_SPIN);
			break;
		case OP_WRITE:
			c->local[size - 1] = (char)seq; /* 最後一個位元組是序號,對方看到它變了就回寫 */
			if (post_op(c, c->use_imm ? IBV_WR_RDMA_WRITE_WITH_IMM : IBV_WR_RDMA_WRITE,
				    sge_send(c, 0, size), 0, seq, true)) {
				r = WAIT_FAILED;
				break;
			}
			c->ping_sends = c->sends;
			if (c->use_imm)
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
		report_lat(c, &st, i, wall, cpu, status_of(r));
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
		report_bw(c, n, wall, cpu, status_of(r));
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
		/*
		 * 客戶端說結束了('E' 在收到最後一個回覆之後才送):之後到的 ping 一個都不回。'E' 之後
		 * session_over() 不再限制(讓它收尾),繼續回的話,排在 'E' 後面的 ping 就不受 --max-session 管。
		 */
		if (c->got_done || (by_cqe ? c->recvs < i + 1 : window_flag(c) != seq))
			break;
		if (!by_cqe) {
			c->recvs++;
			c->last_peer_ns = now_ns();
			publish(c, c->recvs, c->recvs * c->size);
			if (session_over(c, 0))
				return WAIT_ENDED; /* 超過次數:不回這一個 */
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
		conn_note(c, "收到 %" PRIu64 " 則 SEND,%.2f MB", c->recvs, c->recv_bytes / 1048576.0);
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
		printf("SUMMARY role=client test=lat op=%s size=%u iters=0 event=%d end=%s status=%s\n", op_names[c->op],
		       c->size, c->event, end_names[end_flag(c)], status);
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
	       "p99_us=%.2f max_us=%.2f avg_us=%.2f cpu_ns=%.0f cpu_pct=%.0f server_cpu_ns=%.0f end=%s status=%s\n",
	       op_names[c->op], c->size, n, c->event, c->use_imm, mn, p50, p99, mx, avg, per, pct, srv,
	       end_names[end_flag(c)], status);
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
	else if (c->got_ack && c->ack.b != n)
		printf("  注意:伺服器認定 %" PRIu64 " 次(單邊操作它看不到,只採信物理上可能的回報)\n", c->ack.b);
	printf("SUMMARY role=client test=bw op=%s size=%u iters=%" PRIu64 " depth=%u event=%d mbps=%.2f gbps=%.3f "
	       "msg_rate=%.0f cpu_ns=%.0f cpu_pct=%.0f server_cpu_ns=%.0f end=%s status=%s\n",
	       op_names[c->op], c->size, n, c->depth, c->event, mbps, gbps, rate, per, pct, srv,
	       end_names[end_flag(c)], status);
}

/* 伺服器:一個客戶端結束時的一段總結(兩側的 CPU),以及機器可讀的 CLIENT 行。數字都是伺服器自己的 */
static void report_session(struct conn *c, enum wait_result r, uint64_t t0)
{
	uint64_t now = now_ns();
	double secs = (now - t0) / 1e9, idle = (now - c->last_peer_ns) / 1e9;
	/* 客戶端回報的 CPU 只顯示、標成回報,而且不超過這段時間(單執行緒的客戶端最多用滿一顆 CPU) */
	uint64_t ccpu = c->done.b < now - t0 ? c->done.b : now - t0, ops = server_ops(c);
	char own[32] = "-", rep[32] = "-", why[WHY_LEN];

	if (c->observed)
		snprintf(own, sizeof(own), "%" PRIu64, c->recvs);
	else
		snprintf(rep, sizeof(rep), "%" PRIu64, c->rep_ops);
	if (r == WAIT_OK) {
		double cpu = (double)c->ack.a;

		conn_note(c, "完成(%.2f 秒):%s %" PRIu64 " 次操作;伺服器 CPU %.2f ms(每次 %.0f ns),客戶端 CPU %.2f ms"
			  "(客戶端回報)", secs, c->observed ? "伺服器看到" : "單邊操作伺服器看不到,客戶端回報(已設上限)",
			  ops, cpu / 1e6, ops ? cpu / (double)ops : 0, ccpu / 1e6);
		if (c->logged)
			printf("CLIENT id=%" PRIu64 " peer=%s test=%s op=%s size=%u ops=%s reported_ops=%s secs=%.2f "
			       "server_cpu_ns=%.0f reported_client_cpu_ns=%" PRIu64 " keepalives=%" PRIu64 " status=ok\n",
			       c->num, c->peer, test_names[c->test], op_names[c->op], c->size, own, rep, secs, cpu, ccpu,
			       c->keepalives);
		return;
	}
	if (r == WAIT_ENDED) {
		conn_note(c, "%s;已釋放它的資源(%.1f MiB)", wait_text(c, r, why, sizeof(why)), c->need / 1048576.0);
		if (c->logged)
			printf("CLIENT id=%" PRIu64 " peer=%s test=%s op=%s status=ended reason=%s ops=%s reported_ops=%s "
			       "secs=%.2f keepalives=%" PRIu64 "\n", c->num, c->peer, test_names[c->test], op_names[c->op],
			       end_names[c->end_reason], own, rep, secs, c->keepalives);
		return;
	}
	const char *reason = r == WAIT_IDLE	  ? "idle"
			     : r == WAIT_GONE	  ? "disconnected"
			     : r == WAIT_STOPPED ? "stopped"
			     : strstr(c->why, "keepalive") ? "keepalive"
			     : c->violation		     ? "protocol"
							     : "error";

	conn_note(c, "中途離線或出錯:%s;最後一次看到對方動靜是 %.1f 秒前;已釋放它的資源(%.1f MiB)",
		  wait_text(c, r, why, sizeof(why)), idle, c->need / 1048576.0);
	if (c->logged)
		printf("CLIENT id=%" PRIu64 " peer=%s test=%s op=%s status=lost reason=%s idle_s=%.1f ops=%s reported_ops=%s "
		       "keepalives=%" PRIu64 "\n", c->num, c->peer, test_names[c->test], op_names[c->op], reason, idle,
		       own, rep, c->keepalives);
}

/*
 * 伺服器每秒一行:連線數、伺服器自己看到的每秒操作數與 MB/s、單邊操作的客戶端回報(有上限,另外標出)、
 * 伺服器 CPU %、記憶體(真正的成本,見 conn_cost())。另外:記錄的額度每秒補 LOG_RATE 筆,
 * 這一秒沒有逐行印出的拒絕與連線各彙總成一行。
 */
static void server_tick(struct server *s, uint64_t t0, uint64_t last[4], uint64_t *last_cpu, uint64_t *last_t)
{
	uint64_t v[4] = { s->retired_ops, s->retired_bytes, s->retired_rops, s->retired_rbytes };
	uint64_t t = now_ns(), cpu = process_cpu_ns(), mem, mut[3], rej = 0;
	uint32_t active;
	char a[32], b[32];

	for (struct conn *c = s->conns; c; c = c->next) {
		v[0] += __atomic_load_n(&c->st_ops, __ATOMIC_RELAXED);
		v[1] += __atomic_load_n(&c->st_bytes, __ATOMIC_RELAXED);
		v[2] += __atomic_load_n(&c->st_rops, __ATOMIC_RELAXED);
		v[3] += __atomic_load_n(&c->st_rbytes, __ATOMIC_RELAXED);
	}
	pthread_mutex_lock(&s->lock);
	active = s->active;
	mem = s->mem_used;
	mut[0] = s->muted_ok, mut[1] = s->muted_lost, mut[2] = s->muted_ended;
	s->muted_refusals[REFUSE_SERVER] += s->muted_setup;
	s->muted_ok = s->muted_lost = s->muted_ended = s->muted_setup = 0;
	pthread_mutex_unlock(&s->lock);
	if (active || v[0] != last[0] || v[2] != last[2]) {
		double dt = (t - *last_t) / 1e9;

		printf("[統計 %3.0f 秒] 連線 %u 個|%s 次操作/秒|%.2f MB/s|單邊(客戶端回報,有上限)%s 次/秒、%.2f MB/s"
		       "|伺服器 CPU %.0f%%|記憶體 %.1f MiB\n",
		       (t - t0) / 1e9, active, commas((uint64_t)((v[0] - last[0]) / dt), a, sizeof(a)),
		       (v[1] - last[1]) / dt / 1048576.0, commas((uint64_t)((v[2] - last[2]) / dt), b, sizeof(b)),
		       (v[3] - last[3]) / dt / 1048576.0, 100.0 * (cpu - *last_cpu) / (t - *last_t), mem / 1048576.0);
	}
	memcpy(last, v, sizeof(v));
	*last_cpu = cpu;
	*last_t = t;

	for (int r = 0; r <= REFUSE_PEER; r++)
		rej += s->muted_refusals[r];
	if (rej)
		printf("[彙總] 這一秒另有 %" PRIu64 " 個拒絕沒有逐一列出(已滿 %" PRIu64 "、要求太大 %" PRIu64 "、位址上限 %" PRIu64
		       "、參數不合理 %" PRIu64 "、伺服器端錯誤 %" PRIu64 ")\n", rej, s->muted_refusals[REFUSE_BUSY],
		       s->muted_refusals[REFUSE_MEM], s->muted_refusals[REFUSE_PEER], s->muted_refusals[REFUSE_BAD],
		       s->muted_refusals[REFUSE_SERVER]);
	if (mut[0] + mut[1] + mut[2])
		printf("[彙總] 這一秒另有 %" PRIu64 " 條連線結束沒有逐一列出(完成 %" PRIu64 "、中途離線 %" PRIu64
		       "、被伺服器結束 %" PRIu64 ")\n", mut[0] + mut[1] + mut[2], mut[0], mut[1], mut[2]);
	memset(s->muted_refusals, 0, sizeof(s->muted_refusals));
	for (int k = 0; k < LOG_KINDS; k++)
		s->tokens[k] = s->tokens[k] + LOG_RATE < LOG_BURST ? s->tokens[k] + LOG_RATE : LOG_BURST;
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

/* 伺服器的連線印一行(開頭是 "[#N] ");沒有記錄額度的連線不印(見 log_gate 與 server_tick 的彙總) */
static void conn_note(struct conn *c, const char *fmt, ...)
{
	char line[WHY_LEN + 200];
	va_list ap;

	if (c->srv && !c->logged)
		return;
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
	l->cqe = l->sq + l->nrecv + 4;
	/* 只有客戶端讀伺服器(READ 測試、demo 的步驟 4):伺服器的 QP 為它們保留 responder resources */
	if (t == TEST_DEMO || op == OP_READ)
		*(srv ? &l->rd_in : &l->rd_out) = n;
	l->ctrl_off = (size_t)l->nsend * l->slot;
	l->recv_off = l->ctrl_off + (size_t)CTRL_RING * CTRL_SLOT;
	l->local_len = page_up(l->recv_off + (size_t)l->nrecv * l->rslot);
	l->win_bytes = (size_t)l->nwin * l->slot;
	if (!srv && l->win_bytes < CTRL_SLOT)
		l->win_bytes = CTRL_SLOT;
	l->win_map = l->win_bytes ? page_up(l->win_bytes) : 0;
	l->cost = l->local_len + l->win_map + conn_cost(l);
}

/* rxe 的一個佇列:項目數 + 1 進位到 2 的次方,加上表頭,以整頁 vmalloc */
static size_t ring_bytes(uint32_t n, uint32_t slot)
{
	size_t slots = 1;

	while (slots < (size_t)n + 1)
		slots <<= 1;
	return page_up(64 + slots * slot);
}

/* 一條連線除了 MR 以外的記憶體(見 COST_BASE 的說明):固定部分 + 三個佇列 + responder resources */
static size_t conn_cost(const struct layout *l)
{
	return COST_BASE + ring_bytes(l->sq, COST_SQ_SLOT) + ring_bytes(l->nrecv, COST_RQ_SLOT) +
	       ring_bytes(l->cqe, COST_CQ_SLOT) + (size_t)l->rd_in * COST_RD_ATOMIC;
}

/* 埠的速率(位元組/秒):每條 lane 的速率 × lane 數;不認得的就當 400 Gb/s(只用來設回報的上限) */
static double port_rate(struct ibv_context *dev, uint8_t port)
{
	static const double gbps[] = { 2.5, 5, 10, 10.3125, 14.0625, 25.78125, 53.125, 106.25 }; /* 1 << i */
	static const int lanes[] = { 1, 4, 8, 12, 2 };						  /* 1 << i */
	struct ibv_port_attr pa;
	double rate = 400e9;

	if (!ibv_query_port(dev, port, &pa)) {
		int si = __builtin_ffs(pa.active_speed) - 1, wi = __builtin_ffs(pa.active_width) - 1;

		if (si >= 0 && si < 8 && wi >= 0 && wi < 5)
			rate = gbps[si] * 1e9 * lanes[wi];
	}
	return rate / 8;
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

/* 印出這條連線的記憶體:真正的成本(MR + 連線本身)、兩個 MR 與權限(lkey 只在本地有意義,印出來無妨) */
static void print_memory(struct conn *c)
{
	char win[160] = "沒有視窗(這個測試不開放任何遠端存取)";
	size_t mr = c->lay.local_len + c->lay.win_map;

	if (c->srv && !c->logged)
		return;
	if (c->win_mr)
		snprintf(win, sizeof(win), "視窗 MR %zu 位元組(iova 0,%s,rkey 0x%x)", c->lay.win_bytes,
			 access_str(c->lay.win_access), c->win_mr->rkey);
	printf("%s記憶體 %.1f KiB(MR %.1f KiB + 連線本身約 %.1f KiB:QP/CQ 佇列、執行緒、核心物件):本地 MR %zu 位元組"
	       "(送出 + 控制 + 接收,只有 LOCAL_WRITE:lkey 0x%x,rkey 0x%x 對遠端無效)、%s\n",
	       c->tag, c->lay.cost / 1024.0, mr / 1024.0, (c->lay.cost - mr) / 1024.0, c->lay.local_len,
	       c->local_mr->lkey, c->local_mr->rkey, win);
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

	if (c->srv && !c->logged)
		return;
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

/*
 * 等下一個 rdma_cm 事件,最多 timeout_ms;逾時回傳 NULL 且 errno = ETIMEDOUT,被中斷則 EINTR,
 * *abort 變成 1(伺服器要這條連線讓位)則 ECANCELED
 */
static struct rdma_cm_event *get_event(struct rdma_event_channel *ec, int timeout_ms, const int *abort)
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
		if (abort && __atomic_load_n(abort, __ATOMIC_ACQUIRE) == 1) {
			errno = ECANCELED;
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

/* KiB 數字給人看:10 MiB 以下印 KiB(精確到頁),以上印 MiB */
static const char *kib_str(uint32_t kib, char *buf, size_t len)
{
	if (kib < 10240)
		snprintf(buf, len, "%u KiB", kib);
	else
		snprintf(buf, len, "%.1f MiB", kib / 1024.0);
	return buf;
}

static void explain_refusal(const struct config *cfg, const struct refusal *r)
{
	static const char *const bad[] = {
		"?", "不是本程式的協定", "協定版本不同", "不認得的測試種類或操作", "訊息大小超出範圍",
		"深度超出範圍", "次數或秒數超出範圍", "客戶端視窗太小",
		"連線要求的重試次數是 7(伺服器的 QP 會照用,7 代表無限重試;請用 0-6)",
	};
	const char *what = r->detail == FULL_MEM ? "記憶體" : "連線數";
	char a[32], b[32];

	switch (r->reason) {
	case REFUSE_BUSY:
		fprintf(stderr, "錯誤:伺服器 %s:%d 已滿(%s),拒絕了這次連線;請稍後再試\n", cfg->server, cfg->port, what);
		break;
	case REFUSE_MEM:
		fprintf(stderr, "錯誤:這個要求本身需要 %s 記憶體,超過伺服器給每個位址的上限 %s,被拒絕了。"
			"請用較小的 --size 或 --depth\n", kib_str(ntohl(r->need), a, sizeof(a)),
			kib_str(ntohl(r->limit), b, sizeof(b)));
		break;
	case REFUSE_PEER:
		if (r->detail == FULL_MEM)
			fprintf(stderr, "錯誤:你的位址在伺服器上已持有 %s 記憶體(每個位址上限 %s),這次連線被拒絕;"
				"請等你的其他連線結束再試\n", kib_str(ntohl(r->used), a, sizeof(a)),
				kib_str(ntohl(r->limit), b, sizeof(b)));
		else
			fprintf(stderr, "錯誤:你的位址在伺服器上已有 %u 條連線(每個位址上限 %u 條),這次連線被拒絕;"
				"請等你的其他連線結束再試\n", ntohl(r->used), ntohl(r->limit));
		break;
	case REFUSE_SERVER:
		fprintf(stderr, "錯誤:伺服器無法為這次連線配置資源(它那一端的 %s),拒絕了連線:問題在伺服器"
			"(例如它的 ulimit -l 太低);請通知伺服器的管理者\n", r->detail ? strerror(r->detail) : "錯誤");
		break;
	default:
		fprintf(stderr, "錯誤:伺服器認為參數不合理,拒絕了這次連線:%s\n",
			r->detail < sizeof(bad) / sizeof(bad[0]) ? bad[r->detail] : "?");
	}
}

/* 伺服器在 welcome 裡說了這個工作階段的上限;這次的要求超過時先說清楚(伺服器會在上限時以 'X' 結束它) */
static void warn_limits(struct conn *c, uint32_t secs, uint32_t ops)
{
	if (c->test == TEST_DEMO || (!secs && !ops))
		return;
	if (c->duration && secs && c->duration > secs)
		printf("注意:伺服器只允許這個工作階段 %u 秒,比 --duration %u 短;到時伺服器會結束它\n", secs, c->duration);
	else if (!c->duration && ops && c->iters > ops)
		printf("注意:伺服器只允許這個工作階段 %u 次操作,比 --iters %u 少;到時伺服器會結束它\n", ops, c->iters);
}

/* 等一個特定的 rdma_cm 事件;把錯誤事件翻成中文說明 */
static int expect_event(struct conn *c, enum rdma_cm_event_type want, uint64_t deadline, void *pdata, size_t plen)
{
	const struct config *cfg = c->cfg;
	bool client = c->role == ROLE_CLIENT;
	int64_t left = ((int64_t)deadline - (int64_t)now_ns()) / 1000000;
	struct rdma_cm_event *ev = get_event(c->ec, left > 0 ? (int)left : 0, client ? NULL : &c->yield);
	struct refusal rf;

	if (!ev) {
		if (errno == ETIMEDOUT && client)
			fprintf(stderr, "錯誤:無法在 %d 秒內連上伺服器 %s:%d(等待 %s 逾時)。請確認伺服器已啟動、"
				"位址與埠正確,而且兩端的 RDMA 裝置在同一個網路上\n", CONNECT_TIMEOUT_MS / 1000,
				cfg->server, cfg->port, rdma_event_str(want));
		else if (errno == ETIMEDOUT)
			conn_note(c, "客戶端沒有在 %d 秒內完成連線,放棄", CONNECT_TIMEOUT_MS / 1000);
		else if (errno == ECANCELED)
			conn_note(c, "握手還沒完成就讓位給其他位址的連線");
		else if (errno == EINTR && client)
			fprintf(stderr, "被中斷(連線建立中)\n");
		else if (errno != EINTR)
			conn_note(c, "錯誤:rdma_get_cm_event 失敗:%s", strerror(errno));
		return -1;
	}
	if (ev->event == want) {
		if (pdata && ev->param.conn.private_data && ev->param.conn.private_data_len >= plen)
			memcpy(pdata, ev->param.conn.private_data, plen);
		rdma_ack_cm_event(ev);
		return 0;
	}
	if (!client) {
		conn_note(c, "連線沒有建立:%s(status %d)", rdma_event_str(ev->event), ev->status);
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

/* 中斷連線:rdma_disconnect,等對方的 DISCONNECTED 最多 wait_ms(正常結束 1 秒;伺服器結束的不必等) */
static void conn_disconnect(struct conn *c, int wait_ms)
{
	uint64_t deadline = now_ns() + (uint64_t)wait_ms * 1000000ull;

	if (!c->connected)
		return;
	rdma_disconnect(c->id);
	c->connected = false;
	while (!c->peer_gone && now_ns() < deadline) {
		struct pollfd pfd = { .fd = c->ec->fd, .events = POLLIN };
		struct rdma_cm_event *ev;

		if (rdma_get_cm_event(c->ec, &ev)) {
			poll(&pfd, 1, 20);
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

/* 伺服器結束工作階段的原因(伺服器自己的 c->end_reason,或客戶端收到的 'X') */
static const char *end_text(enum end_reason r, uint64_t limit, char *buf, size_t len)
{
	switch (r) {
	case END_TIME:
		snprintf(buf, len, "超過伺服器允許的時間(這個工作階段最多 %" PRIu64 " 秒;伺服器的 --max-session,"
			 "依時間的測試是約定的秒數 + %d 秒)", limit, SESSION_GRACE_S);
		break;
	case END_OPS:
		snprintf(buf, len, "超過允許的次數(這個工作階段最多 %" PRIu64 " 次:hello 約定的或伺服器的 --max-session)",
			 limit);
		break;
	case END_YIELD:
		snprintf(buf, len, "伺服器已滿,而這個位址持有的連線 / 記憶體最多:讓位給其他位址的客戶端"
			 "(少開幾條連線,或稍後再試)");
		break;
	case END_IDLE:
		snprintf(buf, len, "%" PRIu64 " 秒沒有進展(只送進度訊息、不做測試也算)", limit);
		break;
	case END_SHUTDOWN:
		snprintf(buf, len, "伺服器正在關閉");
		break;
	default:
		snprintf(buf, len, "原因不明(%d)", (int)r);
	}
	return buf;
}

/* 客戶端收到的 'X' 的原因(對方送的數字,先檢查範圍) */
static enum end_reason end_flag(const struct conn *c)
{
	return c->got_end && c->end.flag <= END_SHUTDOWN ? (enum end_reason)c->end.flag : END_NONE;
}

static const char *status_of(enum wait_result r)
{
	return r == WAIT_STOPPED ? "interrupted" : r == WAIT_ENDED ? "ended" : "error";
}

static const char *wait_text(struct conn *c, enum wait_result r, char *buf, size_t len)
{
	char why[WHY_LEN / 2];

	switch (r) {
	case WAIT_OK:
		return "成功";
	case WAIT_FAILED:
		snprintf(buf, len, "%s", c->why[0] ? c->why : "連線出錯");
		return buf;
	case WAIT_GONE:
		return "對方已中斷連線(行程結束或被中斷)";
	case WAIT_IDLE:
		if (c->role == ROLE_SERVER)
			snprintf(buf, len, "對方 %d 秒沒有進展(程式停住、當掉、網路斷了,或只送進度訊息不做事)",
				 PEER_IDLE_MS / 1000);
		else
			snprintf(buf, len, "對方 %d 秒沒有任何動靜(程式停住、當掉或網路斷了?)", PEER_IDLE_MS / 1000);
		return buf;
	case WAIT_STOPPED:
		return "被中斷(SIGINT / SIGTERM)";
	case WAIT_ENDED:
		if (c->role == ROLE_SERVER)
			end_text(c->end_reason, c->end_reason == END_TIME ? c->max_secs : c->max_ops, why, sizeof(why));
		else
			end_text(end_flag(c), c->end.a, why, sizeof(why));
		snprintf(buf, len, "伺服器結束了這個工作階段:%s", why);
		return buf;
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
	  "同時服務的客戶端上限(預設 16,含握手中的,1-1024)。每條連線 1 個執行緒、2 個檔案描述子:ulimit -n "
	  "不夠時自動調高,調不高就降低這個數並說明" },
	{ { "max-mem", required_argument, NULL, 'm' }, "MiB", FOR_SERVER,
	  "所有連線的記憶體總上限(預設 256):MR 加上每條連線本身(QP/CQ 佇列、執行緒、核心物件:約 60 KiB 起,"
	  "佇列越深越多)" },
	{ { "max-per-peer", required_argument, NULL, 'P' }, "N", FOR_SERVER,
	  "每個來源位址(IPv6 以 /64 計)最多幾條連線(預設 --max-clients 的四分之一,至少 1)" },
	{ { "max-peer-mem", required_argument, NULL, 'M' }, "MiB", FOR_SERVER,
	  "每個來源位址最多用掉的記憶體(預設 --max-mem 的四分之一);單一要求超過它就以「要求太大」拒絕" },
	{ { "max-session", required_argument, NULL, 'S' }, "秒[,次數]", FOR_SERVER,
	  "每個工作階段最多幾秒、幾次操作(預設 300,100000000;依時間的測試最多約定的秒數 + 5 秒);"
	  "到了就告訴客戶端原因並結束它" },
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

/*
 * 終端機上的顯示寬度:東亞寬字元(中文、全形標點)佔 2 格,其他(ASCII、×、−、µ)佔 1 格。
 * UTF-8 的一個中文字是 3 個位元組、2 格,所以 printf 的 %-28s 會把每一行中文對歪。
 */
static int char_width(const unsigned char *p, int *len)
{
	uint32_t cp = *p;

	*len = cp < 0x80 ? 1 : cp >= 0xf0 ? 4 : cp >= 0xe0 ? 3 : 2;
	if (*len == 3)
		cp = (cp & 0x0f) << 12 | (p[1] & 0x3fu) << 6 | (p[2] & 0x3fu);
	else if (*len == 4)
		cp = 0x10000;
	return (cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
			       (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) ||
			       (cp >= 0xff00 && cp <= 0xff60) || (cp >= 0xffe0 && cp <= 0xffe6) || cp >= 0x10000
		       ? 2
		       : 1;
}

static int display_width(const char *s)
{
	int w = 0, len;

	for (const unsigned char *p = (const unsigned char *)s; *p; p += len)
		w += char_width(p, &len);
	return w;
}

#define HELP_WIDTH 80 /* --help 的每一行不超過這麼多格 */
#define HELP_COL 29   /* 選項說明從第幾格開始 */

/* 不該出現在行首的全形標點(closing)與不該留在行尾的(opening) */
static bool punct_in(const unsigned char *p, const char (*marks)[4], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(p, marks[i], 3))
			return true;
	return false;
}

static bool closing_punct(const unsigned char *p)
{
	static const char marks[][4] = { ",", "、", "。", ";", ":", ")", "」", "?", "!" };

	return punct_in(p, marks, sizeof(marks) / sizeof(marks[0]));
}

static bool opening_punct(const unsigned char *p)
{
	static const char marks[][4] = { "(", "「" };

	return punct_in(p, marks, sizeof(marks) / sizeof(marks[0]));
}

/*
 * 從第 col 格開始印 text,超過 HELP_WIDTH 就換行,續行縮排 indent 格。中文字之間都可以換行,
 * ASCII 的字(例如 --max-clients)不拆開,全形標點跟著它旁邊的字走(不會在行首出現「,」、行尾留下「(」)。
 */
static void print_wrapped(const char *text, int col, int indent)
{
	const unsigned char *p = (const unsigned char *)text;
	bool space = false;

	while (*p) {
		const unsigned char *e = p;
		int w = 0, len;

		if (*p == ' ') {
			space = true;
			p++;
			continue;
		}
		while (*e && opening_punct(e))
			w += char_width(e, &len), e += len;
		if (*e && char_width(e, &len) == 2)
			w += 2, e += len;
		else
			while (*e && *e != ' ' && char_width(e, &len) == 1)
				w++, e += len;
		while (*e && closing_punct(e))
			w += char_width(e, &len), e += len;
		if (col + space + w > HELP_WIDTH && col > indent) {
			printf("\n%*s", indent, "");
			col = indent;
			space = false;
		}
		if (space)
			putchar(' '), col++;
		space = false;
		fwrite(p, 1, (size_t)(e - p), stdout);
		col += w;
		p = e;
	}
	putchar('\n');
}

static void print_help(void)
{
	static const char *const titles[] = { "共同選項", "伺服器選項", "客戶端選項" };
	static const char *const limits[] = {
		"記憶體:每個連線要求的真正成本(MR + 連線本身)依它的 hello 算出,全部合計不超過 --max-mem;",
		"公平:每個來源位址最多 --max-per-peer 條連線、--max-peer-mem 的記憶體;伺服器滿了時,持有最多的位址"
		"最舊(缺記憶體時是最大)的工作階段讓位給新位址(只要它讓位後持有的仍不少於新位址),新要求最多等 3 秒;",
		"工作階段:最多 --max-session 的秒數與次數;6 秒沒有進展(不是只送進度訊息)就結束,"
		"每秒 keepalive(0 位元組 RDMA WRITE)發現消失的主機;",
		"CPU:同時最多「線上 CPU 數 − 1」(至少 1)條連線忙碌輪詢,其他的睡著等完成事件;",
		"連線要求的重試次數(傳輸、RNR)由伺服器的 QP 照用,要求 7(無限)的以「參數不合理」拒絕;",
		"RDMA 只能存取自己連線的視窗(iova 0、剛好需要的權限),超出範圍得到 remote access error;",
		"統計與 CLIENT 行是伺服器自己數的;單邊操作的客戶端回報另外標出,而且不超過埠的速率能做到的;",
		"記錄:同一種事件每秒最多 2 筆(開頭可連續 20 筆),其餘每秒彙總成一行,結束時的 SUMMARY 是精確的。",
	};
	static const char *const examples[][2] = {
		{ "./rdma_communication server &", "伺服器(背景執行)" },
		{ "./rdma_communication client 10.0.2.15", "問候 + WRITE/READ 驗證" },
		{ "./rdma_communication client 10.0.2.15 --test lat --op write", "延遲" },
		{ "./rdma_communication client 10.0.2.15 --test bw --op write --duration 10", "頻寬(10 秒)" },
	};

	printf("用法:\n"
	       "  rdma_communication server [選項]\n"
	       "  rdma_communication client 伺服器IP [選項]\n\n");
	print_wrapped("以 rdma_cm 建立 RC 連線,示範 SEND/RECV、RDMA WRITE/READ,量測延遲、頻寬與兩端的 CPU。"
		      "伺服器同時服務多個客戶端(一條連線一個執行緒),每秒印出統計;客戶端的設定在連線時告訴伺服器。",
		      0, 0);
	for (int w = FOR_BOTH; w <= FOR_CLIENT; w++) {
		printf("\n%s:\n", titles[w]);
		for (size_t i = 0; i < N_OPTIONS; i++) {
			char left[64];

			if (options[i].who != (enum who)w)
				continue;
			snprintf(left, sizeof(left), "  -%c, --%s%s%s", options[i].opt.val, options[i].opt.name,
				 options[i].arg ? " " : "", options[i].arg ? options[i].arg : "");
			if (display_width(left) < HELP_COL)
				printf("%s%*s", left, HELP_COL - display_width(left), "");
			else /* 左欄太長:說明從下一行開始 */
				printf("%s\n%*s", left, HELP_COL, "");
			print_wrapped(options[i].help, HELP_COL, HELP_COL);
		}
	}
	printf("\n對方(任何客戶端)能讓伺服器用掉的資源都有上限:\n");
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		printf("  ");
		print_wrapped(limits[i], 2, 4);
	}
	printf("\n例:\n");
	for (size_t i = 0; i < sizeof(examples) / sizeof(examples[0]); i++)
		printf("%s%s%s  %s\n", examples[i][1] ? "  # " : "", examples[i][1] ? examples[i][1] : "",
		       examples[i][1] ? "\n" : "", examples[i][0]);
	printf("\n");
	print_wrapped("沒有 RDMA 裝置?有 rdma_rxe 模組時:sudo rdma link add rxe0 type rxe netdev eth0;"
		      "核心沒有 RDMA 時在套件的 Soft-RoCE VM 裡試:make rdma-vm", 0, 0);
	print_wrapped("注意:127.0.0.1 不能用於 rdma_cm,請用 RDMA 裝置所在網路介面的 IP。", 0, 0);
	print_wrapped("結束碼:0 成功,1 執行期錯誤(包括被伺服器拒絕或結束),64 用法錯誤。", 0, 0);
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
				.max_clients = DEFAULT_MAX_CLIENTS, .max_mem = (uint64_t)DEFAULT_MAX_MEM_MIB << 20,
				.max_secs = DEFAULT_MAX_SECS, .max_ops = DEFAULT_MAX_OPS };
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
		case 'P':
			cfg->max_per_peer = (uint32_t)parse_num(optarg, "--max-per-peer", 1, 1024);
			break;
		case 'M':
			cfg->max_peer_mem = (uint64_t)parse_num(optarg, "--max-peer-mem", 1, 1048576) << 20;
			break;
		case 'S': {
			char secs[16];
			const char *comma = strchr(optarg, ',');
			size_t n = comma ? (size_t)(comma - optarg) : strlen(optarg);

			if (n >= sizeof(secs))
				usage_error("--max-session 需要「秒」或「秒,次數」,得到「%s」", optarg);
			memcpy(secs, optarg, n);
			secs[n] = '\0';
			cfg->max_secs = (uint32_t)parse_num(secs, "--max-session 的秒數", 1, MAX_DURATION);
			if (comma)
				cfg->max_ops = (uint32_t)parse_num(comma + 1, "--max-session 的次數", 1, MAX_ITERS);
			break;
		}
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
		if (seen['P'] && cfg->max_per_peer > cfg->max_clients)
			usage_error("--max-per-peer %u 不能大於 --max-clients %u", cfg->max_per_peer, cfg->max_clients);
		if (seen['M'] && cfg->max_peer_mem > cfg->max_mem)
			usage_error("--max-peer-mem %" PRIu64 " 不能大於 --max-mem %" PRIu64 "(MiB)", cfg->max_peer_mem >> 20,
				    cfg->max_mem >> 20);
		if (cfg->once)
			cfg->max_clients = 1;
		return;
	}
	if (seen['n'] && seen['D'])
		usage_error("--iters 與 --duration 只能擇一");
	if (cfg->test == TEST_DEMO && (seen['o'] || seen['s'] || seen['n'] || seen['D'] || seen['q']))
		usage_error("--op / --size / --iters / --duration / --depth 只用於 --test lat 或 bw(demo 固定是 SEND、WRITE、READ)");
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
