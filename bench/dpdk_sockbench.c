// SPDX-License-Identifier: MIT
/*
 * bench/dpdk_sockbench.c — DPDK 效能比較的傳統 socket 基準與產生器(只用 libc)
 *
 *   dpdk_sockbench tx 介面 秒數 [檔案.pcap [每秒封包數 [最多封包數]]]
 *       以 AF_PACKET + sendmmsg(一次 64 個)在介面上送出訊框:預設是 64 位元組的 UDP,
 *       給了 pcap 就依序循環重播其中的訊框(效能比較的真實組成流量、測試的格式錯誤洪水)。
 *       每秒封包數 > 0 時限速(測試要求「收到的 = 送出的」時用),最多封包數 > 0 時送滿就停。
 *   dpdk_sockbench xdptx 介面 秒數 檔案.pcap [封包數]
 *       效能比較的線上產生器:核心裡的 XDP「live frames」測試執行(BPF_PROG_TEST_RUN +
 *       BPF_F_TEST_XDP_LIVE_FRAMES,和 bench/xdp_livegen 同一個機制),但依序重播 pcap 裡的每個訊框:
 *       一個小 XDP 程式從 BPF array map 取出第 i 個訊框,以 bpf_xdp_adjust_tail 調成它的長度、
 *       bpf_xdp_store_bytes 寫進 frame,回傳 XDP_TX 從「介面」送出。在 veth 上 frame 以 xdp_frame
 *       的形式進到對端的接收佇列(沒有 skb),就像真實網卡的驅動程式收到封包;產生器每個訊框只花
 *       幾十到一百多 ns,一顆 CPU 可以送出每秒數百萬個真實訊框。只用系統呼叫(不需要 libbpf)。
 *       給了封包數就送滿這麼多個(從 pcap 的第一個訊框開始)就停,測試用來精確核對計數。
 *   dpdk_sockbench rx 介面 秒數
 *       核心封包 socket 收包的最佳做法:AF_PACKET + TPACKET_V3 mmap 環(一次交出一整個 block,
 *       沒有每個封包的系統呼叫),並且逐一分類每個訊框(VLAN、IPv4/IPv6、TCP/UDP/ICMP),
 *       與 dpdk_packet_processing 的「收 + 解析」同類的工作。
 *
 * 結束時印一行 `SOCKBENCH mode=rx|tx|xdptx packets=N seconds=S pps=P cpu_ns=T cpu_ns_per_pkt=C …`;
 * cpu_ns 是本行程的 user+sys 時間;rx 另有 drops(環滿被核心丟棄)與各協定計數。
 * 注意:veth 上對端的收包工作(NAPI:XDP 程式、建 skb、協定堆疊)在送端的 CPU 以 softirq 執行,
 * 也算進送端行程的 CPU 時間;要分開看,請讀 /proc/stat 的 softirq 欄(bench/dpdk.sh 這樣做)。
 * 需要 root(CAP_NET_RAW;xdptx 需要 CAP_BPF / CAP_SYS_ADMIN)。xdptx 被核心以 EPERM 拒絕時結束碼 77(無法在此執行)。
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench_util.h"

#define BATCH 64
#define MAX_FRAMES 4096
#define MAX_FRAME 1514
#define BLOCK_SIZE (1u << 20)
#define BLOCK_NR 32
#define RING_FRAME 2048

/* 要送的訊框:預設一個 64 位元組 UDP 的 64 個變體,或 pcap 裡的訊框 */
struct frames {
	unsigned int n;
	uint32_t len[MAX_FRAMES];
	uint8_t d[MAX_FRAMES][MAX_FRAME];
};

/* 64 位元組(不含 FCS 為 60)的 UDP 訊框;來源埠隨 i 變化(讓雜湊分散) */
static void build_udp(uint8_t *f, unsigned int i)
{
	static const uint8_t dst[6] = { 0x02, 0, 0, 0, 0, 0x10 }, src[6] = { 0x02, 0, 0, 0, 0, 0x20 };
	uint8_t *ip = f + 14, *udp = f + 34;
	uint16_t c;

	memset(f, 0, 60);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	f[12] = 0x08;
	ip[0] = 0x45;
	ip[3] = 60 - 14;
	ip[8] = 64;
	ip[9] = 17;
	ip[12] = 10, ip[13] = 79, ip[14] = 0, ip[15] = 2;
	ip[16] = 10, ip[17] = 79, ip[18] = 0, ip[19] = 10;
	c = inet_csum(ip, 20, 0);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	udp[0] = 0x10 | ((i >> 8) & 0x0f);
	udp[1] = i & 0xff;
	udp[2] = 0x13;
	udp[3] = 0x88;
	udp[5] = 60 - 34;
}

/* 讀 pcap(小端序;超過 1514 位元組的訊框略過,veth 的 MTU 送不出去) */
static int load_pcap(const char *path, struct frames *fr)
{
	uint32_t gh[6], rh[4];
	uint8_t skip[65536];
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
	while (fr->n < MAX_FRAMES && fread(rh, 4, 4, f) == 4) {
		uint8_t *dst = rh[2] <= MAX_FRAME ? fr->d[fr->n] : skip;

		if (rh[2] > sizeof(skip) || fread(dst, 1, rh[2], f) != rh[2]) {
			fprintf(stderr, "錯誤:%s 的訊框被截斷\n", path);
			fclose(f);
			return -1;
		}
		if (rh[2] <= MAX_FRAME && rh[2] >= 14)
			fr->len[fr->n++] = rh[2];
	}
	fclose(f);
	if (!fr->n) {
		fprintf(stderr, "錯誤:%s 沒有可送出的訊框\n", path);
		return -1;
	}
	return 0;
}

static int open_packet_socket(const char *ifname, int proto)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = (uint16_t)htons(proto) };
	int fd = socket(AF_PACKET, SOCK_RAW, htons(proto));

	if (fd < 0) {
		fprintf(stderr, "錯誤:socket(AF_PACKET):%s(需要 root)\n", strerror(errno));
		return -1;
	}
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (!sll.sll_ifindex) {
		fprintf(stderr, "錯誤:找不到介面 %s\n", ifname);
		close(fd);
		return -1;
	}
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		fprintf(stderr, "錯誤:bind %s:%s\n", ifname, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

static int run_tx(const char *ifname, double secs, const struct frames *fr, uint64_t pps,
		  uint64_t max)
{
	struct mmsghdr msgs[BATCH];
	struct iovec iov[BATCH];
	unsigned long long count = 0;
	unsigned int next = 0;
	uint64_t t0 = now_ns(), end = t0 + (uint64_t)(secs * 1e9), c0 = cpu_ns(), t1, c1;
	int fd = open_packet_socket(ifname, 0);

	if (fd < 0)
		return 1;
	while (now_ns() < end && (!max || count < max)) {
		int n, batch = BATCH;

		if (max && max - count < BATCH)
			batch = (int)(max - count);
		/* 限速:送出的數量不超過經過時間 x 每秒封包數 */
		if (pps && count * 1000000000ull >= (now_ns() - t0) * pps) {
			usleep(200);
			continue;
		}
		/* 這一批從第 next 個訊框開始;沒送出的下一批再送 */
		for (int i = 0; i < batch; i++) {
			unsigned int k = (next + (unsigned int)i) % fr->n;

			iov[i].iov_base = (void *)fr->d[k];
			iov[i].iov_len = fr->len[k];
			memset(&msgs[i], 0, sizeof(msgs[i]));
			msgs[i].msg_hdr.msg_iov = &iov[i];
			msgs[i].msg_hdr.msg_iovlen = 1;
		}
		n = sendmmsg(fd, msgs, (unsigned int)batch, 0);
		if (n > 0) {
			count += (unsigned long long)n;
			next = (next + (unsigned int)n) % fr->n;
		} else if (n < 0 && errno != EAGAIN && errno != EINTR && errno != ENOBUFS) {
			fprintf(stderr, "錯誤:sendmmsg:%s\n", strerror(errno));
			close(fd);
			return 1;
		}
	}
	t1 = now_ns();
	c1 = cpu_ns();
	printf("SOCKBENCH mode=tx packets=%llu seconds=%.3f pps=%.0f cpu_ns=%" PRIu64
	       " cpu_ns_per_pkt=%.1f\n", count, (t1 - t0) / 1e9, count / ((t1 - t0) / 1e9), c1 - c0,
	       count ? (double)(c1 - c0) / (double)count : 0.0);
	close(fd);
	return 0;
}

/* ---- xdptx:XDP live frames 重播 pcap ------------------------------------------------- */

#define RTE_MIN_U64(a, b) ((a) < (b) ? (a) : (b))
#define SLOT_HDR 8                      /* map 值:4 位元組長度 + 4 位元組保留,接著是訊框 */
#define SLOT_SIZE (SLOT_HDR + MAX_FRAME)
#define LIVE_FIRST 65536                /* 第一次 BPF_PROG_TEST_RUN 跑幾個訊框(量速率用) */

static long sys_bpf(int cmd, union bpf_attr *a)
{
	return syscall(__NR_bpf, cmd, a, sizeof(*a));
}

static int array_map(uint32_t value_size, uint32_t entries)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_type = BPF_MAP_TYPE_ARRAY;
	a.key_size = 4;
	a.value_size = value_size;
	a.max_entries = entries;
	return (int)sys_bpf(BPF_MAP_CREATE, &a);
}

static int map_put(int fd, uint32_t key, const void *val)
{
	union bpf_attr a;

	memset(&a, 0, sizeof(a));
	a.map_fd = (uint32_t)fd;
	a.key = (uint64_t)(uintptr_t)&key;
	a.value = (uint64_t)(uintptr_t)val;
	a.flags = BPF_ANY;
	return (int)sys_bpf(BPF_MAP_UPDATE_ELEM, &a);
}

#define I(c, d, s_, o, i_) ((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s_), .off = (o), .imm = (i_) })
#define MOV_X(d, s_) I(BPF_ALU64 | BPF_MOV | BPF_X, d, s_, 0, 0)
#define MOV_K(d, k) I(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, k)
#define ADD_K(d, k) I(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, k)
#define LDW(d, s_, o) I(BPF_LDX | BPF_MEM | BPF_W, d, s_, o, 0)
#define STW(d, s_, o) I(BPF_STX | BPF_MEM | BPF_W, d, s_, o, 0)
#define JMP_K(op, d, k, o) I(BPF_JMP | (op) | BPF_K, d, 0, o, k)
#define CALL(f) I(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define TO_DROP 0x7fff /* 跳到程式最後的 drop;載入前換成實際的相對位移 */
#define LD_MAP(d, fd) I(BPF_LD | BPF_DW | BPF_IMM, d, BPF_PSEUDO_MAP_FD, 0, fd), I(0, 0, 0, 0, 0)

/*
 * 每次執行:i = ctr[0];ctr[0] = (i + 1) % n;f = frames[i];
 * bpf_xdp_adjust_tail(ctx, f.len - 目前長度);bpf_xdp_store_bytes(ctx, 0, f.data, f.len);return XDP_TX。
 * live frames 的 page 會重複使用,內容不會自動還原,所以每次都整個寫入。
 */
static int load_replay_prog(int ctr_fd, int frames_fd, uint32_t n)
{
	struct bpf_insn p[] = {
		MOV_X(6, 1),                                     /* r6 = ctx */
		I(BPF_ST | BPF_MEM | BPF_W, 10, 0, -4, 0),       /* key = 0 */
		MOV_X(2, 10), ADD_K(2, -4), LD_MAP(1, ctr_fd), CALL(BPF_FUNC_map_lookup_elem),
		JMP_K(BPF_JEQ, 0, 0, TO_DROP),
		LDW(7, 0, 0),                                    /* r7 = i */
		MOV_X(8, 7), ADD_K(8, 1),
		JMP_K(BPF_JLT, 8, (int32_t)n, 1), MOV_K(8, 0),
		STW(0, 8, 0),                                    /* ctr = (i + 1) % n */
		STW(10, 7, -8),                                  /* key = i */
		MOV_X(2, 10), ADD_K(2, -8), LD_MAP(1, frames_fd), CALL(BPF_FUNC_map_lookup_elem),
		JMP_K(BPF_JEQ, 0, 0, TO_DROP),
		MOV_X(9, 0),                                     /* r9 = 訊框 */
		LDW(7, 9, 0),                                    /* r7 = 長度 */
		JMP_K(BPF_JGT, 7, MAX_FRAME, TO_DROP), JMP_K(BPF_JLT, 7, ETH_HLEN, TO_DROP),
		MOV_X(1, 6), CALL(BPF_FUNC_xdp_get_buff_len),
		MOV_X(2, 7), I(BPF_ALU64 | BPF_SUB | BPF_X, 2, 0, 0, 0),
		MOV_X(1, 6), CALL(BPF_FUNC_xdp_adjust_tail),
		JMP_K(BPF_JNE, 0, 0, TO_DROP),
		MOV_X(1, 6), MOV_K(2, 0), MOV_X(3, 9), ADD_K(3, SLOT_HDR), MOV_X(4, 7),
		CALL(BPF_FUNC_xdp_store_bytes),
		JMP_K(BPF_JNE, 0, 0, TO_DROP),
		MOV_K(0, XDP_TX), I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),
		MOV_K(0, XDP_DROP), I(BPF_JMP | BPF_EXIT, 0, 0, 0, 0),  /* drop:最後兩個指令 */
	};
	static char log[65536];
	union bpf_attr a;
	int fd;

	for (size_t i = 0; i < sizeof(p) / sizeof(p[0]); i++)
		if (p[i].code != (BPF_LD | BPF_DW | BPF_IMM) && p[i].off == TO_DROP)
			p[i].off = (int16_t)(sizeof(p) / sizeof(p[0]) - 2 - (i + 1));
	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_XDP;
	a.insns = (uint64_t)(uintptr_t)p;
	a.insn_cnt = sizeof(p) / sizeof(p[0]);
	a.license = (uint64_t)(uintptr_t)"GPL";
	a.log_buf = (uint64_t)(uintptr_t)log;
	a.log_size = sizeof(log);
	a.log_level = 1;
	fd = (int)sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0)
		fprintf(stderr, "錯誤:載入 XDP 程式失敗:%s(需要 root)\n%s", strerror(errno), log);
	return fd;
}

static int run_xdptx(const char *ifname, double secs, const struct frames *fr, uint64_t max)
{
	static uint8_t slot[SLOT_SIZE], first[MAX_FRAME];
	struct xdp_md ctx = { .data_end = MAX_FRAME };
	union bpf_attr a;
	unsigned long long count = 0;
	uint64_t t0, end, c0, t1, c1;
	int ctr = array_map(4, 1), frames = array_map(SLOT_SIZE, fr->n), prog = -1, rc = 1;

	ctx.ingress_ifindex = if_nametoindex(ifname);
	if (!ctx.ingress_ifindex) {
		fprintf(stderr, "錯誤:找不到介面 %s\n", ifname);
		goto out;
	}
	if (ctr < 0 || frames < 0) {
		fprintf(stderr, "錯誤:建立 BPF map 失敗:%s(需要 root)\n", strerror(errno));
		goto out;
	}
	for (uint32_t i = 0; i < fr->n; i++) {
		memcpy(slot, &fr->len[i], 4);
		memcpy(slot + SLOT_HDR, fr->d[i], fr->len[i]);
		if (map_put(frames, i, slot)) {
			fprintf(stderr, "錯誤:寫入訊框 map 失敗:%s\n", strerror(errno));
			goto out;
		}
	}
	prog = load_replay_prog(ctr, frames, fr->n);
	if (prog < 0)
		goto out;
	memcpy(first, fr->d[0], fr->len[0]); /* 初始 frame 用最大長度,程式每次調成要送的長度 */
	t0 = now_ns();
	c0 = cpu_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	/*
	 * 每次 BPF_PROG_TEST_RUN 呼叫都要建立再拆掉一個 page pool 並切換 XDP 的 static key,約幾十 ms
	 * 不在送封包(CPU 閒著,線上的速率掉下來):第一次送一小段量出速率,之後一次送完剩下的時間。
	 */
	for (uint64_t chunk = LIVE_FIRST, t; !max || count < max; count += chunk) {
		t = now_ns();
		if (t >= end)
			break;
		if (count) /* 依到目前為止的速率,一次送完剩下的時間 */
			chunk = (uint64_t)((double)count / (double)(t - t0) * (double)(end - t)) + 1;
		chunk = RTE_MIN_U64(chunk, UINT32_MAX / 2);
		if (max)
			chunk = RTE_MIN_U64(chunk, max - count);
		memset(&a, 0, sizeof(a));
		a.test.prog_fd = (uint32_t)prog;
		a.test.data_in = (uint64_t)(uintptr_t)first;
		a.test.data_size_in = MAX_FRAME;
		a.test.ctx_in = (uint64_t)(uintptr_t)&ctx;
		a.test.ctx_size_in = sizeof(ctx);
		a.test.repeat = (uint32_t)chunk;
		a.test.flags = BPF_F_TEST_XDP_LIVE_FRAMES;
		a.test.batch_size = 64;
		if (sys_bpf(BPF_PROG_TEST_RUN, &a)) {
			/* EPERM:這台機器(核心或它外面的沙箱)不讓 live frames 送出,不是我們的錯:結束碼 77(無法在此執行) */
			if (errno == EPERM)
				rc = 77;
			fprintf(stderr, "錯誤:BPF_PROG_TEST_RUN(live frames)失敗:%s(核心要 5.18+%s)\n", strerror(errno),
				errno == EPERM ? ";root 也被拒絕:這台機器不允許 XDP live frames" : "");
			goto out;
		}
	}
	t1 = now_ns();
	c1 = cpu_ns();
	printf("SOCKBENCH mode=xdptx packets=%llu seconds=%.3f pps=%.0f cpu_ns=%" PRIu64
	       " cpu_ns_per_pkt=%.1f frames=%u\n", count, (t1 - t0) / 1e9, count / ((t1 - t0) / 1e9),
	       c1 - c0, count ? (double)(c1 - c0) / (double)count : 0.0, fr->n);
	rc = 0;
out:
	if (prog >= 0)
		close(prog);
	if (frames >= 0)
		close(frames);
	if (ctr >= 0)
		close(ctr);
	return rc;
}

/* 收包端的分類:與 dpdk_packet_processing 同樣的類別(只看標頭,不驗 checksum) */
enum { R_IPV4, R_IPV6, R_TCP, R_UDP, R_ICMP, R_VLAN, R_OTHER, R_MAX };
static const char *const rnames[R_MAX] = { "ipv4", "ipv6", "tcp", "udp", "icmp", "vlan", "other" };

static void classify(const uint8_t *p, uint32_t len, unsigned long long *cnt)
{
	uint32_t off = 14;
	uint16_t type;
	uint8_t proto;

	if (len < 14)
		return;
	type = (uint16_t)(p[12] << 8 | p[13]);
	if ((type == 0x8100 || type == 0x88a8) && len >= 18) {
		cnt[R_VLAN]++;
		type = (uint16_t)(p[16] << 8 | p[17]);
		off = 18;
	}
	if (type == 0x0800 && len >= off + 20) {
		cnt[R_IPV4]++;
		proto = p[off + 9];
	} else if (type == 0x86dd && len >= off + 40) {
		cnt[R_IPV6]++;
		proto = p[off + 6];
	} else {
		cnt[R_OTHER]++;
		return;
	}
	if (proto == 6)
		cnt[R_TCP]++;
	else if (proto == 17)
		cnt[R_UDP]++;
	else if (proto == 1 || proto == 58)
		cnt[R_ICMP]++;
}

static int run_rx(const char *ifname, double secs)
{
	struct tpacket_req3 req = { .tp_block_size = BLOCK_SIZE, .tp_block_nr = BLOCK_NR,
				    .tp_frame_size = RING_FRAME,
				    .tp_frame_nr = BLOCK_SIZE / RING_FRAME * BLOCK_NR,
				    .tp_retire_blk_tov = 10 };
	struct tpacket_stats_v3 st = { 0 };
	socklen_t sl = sizeof(st);
	unsigned long long count = 0, cnt[R_MAX] = { 0 };
	unsigned int blk = 0;
	uint64_t t0, c0, end, t1, c1;
	int v = TPACKET_V3, fd = open_packet_socket(ifname, ETH_P_ALL);
	uint8_t *ring;

	if (fd < 0)
		return 1;
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &v, sizeof(v)) ||
	    setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req))) {
		fprintf(stderr, "錯誤:TPACKET_V3 設定失敗:%s\n", strerror(errno));
		close(fd);
		return 1;
	}
	ring = mmap(NULL, (size_t)BLOCK_SIZE * BLOCK_NR, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (ring == MAP_FAILED) {
		fprintf(stderr, "錯誤:mmap 環:%s\n", strerror(errno));
		close(fd);
		return 1;
	}
	getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl); /* 歸零 */
	t0 = now_ns();
	c0 = cpu_ns();
	end = t0 + (uint64_t)(secs * 1e9);
	while (now_ns() < end) {
		struct tpacket_block_desc *bd = (void *)(ring + (size_t)blk * BLOCK_SIZE);
		struct tpacket3_hdr *h;

		if (!(bd->hdr.bh1.block_status & TP_STATUS_USER)) {
			struct pollfd pfd = { .fd = fd, .events = POLLIN };

			poll(&pfd, 1, 100);
			continue;
		}
		h = (void *)((uint8_t *)bd + bd->hdr.bh1.offset_to_first_pkt);
		for (uint32_t i = 0; i < bd->hdr.bh1.num_pkts; i++) {
			/* 核心已把 VLAN 標籤移到中繼資料(veth 的 rxvlan offload) */
			if (h->tp_status & TP_STATUS_VLAN_VALID)
				cnt[R_VLAN]++;
			classify((uint8_t *)h + h->tp_mac, h->tp_snaplen, cnt);
			h = (void *)((uint8_t *)h + h->tp_next_offset);
		}
		count += bd->hdr.bh1.num_pkts;
		bd->hdr.bh1.block_status = TP_STATUS_KERNEL;
		blk = (blk + 1) % BLOCK_NR;
	}
	t1 = now_ns();
	c1 = cpu_ns();
	sl = sizeof(st);
	getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &sl);
	printf("SOCKBENCH mode=rx packets=%llu seconds=%.3f pps=%.0f cpu_ns=%" PRIu64
	       " cpu_ns_per_pkt=%.1f drops=%u", count, (t1 - t0) / 1e9, count / ((t1 - t0) / 1e9),
	       c1 - c0, count ? (double)(c1 - c0) / (double)count : 0.0, st.tp_drops);
	for (int i = 0; i < R_MAX; i++)
		printf(" %s=%llu", rnames[i], cnt[i]);
	printf("\n");
	munmap(ring, (size_t)BLOCK_SIZE * BLOCK_NR);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static struct frames fr;
	double secs;

	uint64_t pps = 0, max = 0;

	bool xdptx = (argc == 5 || argc == 6) && !strcmp(argv[1], "xdptx");

	if (!xdptx && (argc < 4 || argc > 7 || (strcmp(argv[1], "tx") && strcmp(argv[1], "rx")) ||
		       (argc >= 5 && strcmp(argv[1], "tx")))) {
		fprintf(stderr, "用法:dpdk_sockbench tx 介面 秒數 [檔案.pcap [每秒封包數 [最多封包數]]]"
				" | xdptx 介面 秒數 檔案.pcap [封包數] | rx 介面 秒數\n");
		return EXIT_USAGE;
	}
	if (argc >= 6 && !xdptx)
		pps = parse_num(argv[5], "每秒封包數", 0, 100000000);
	if (argc == 7)
		max = parse_num(argv[6], "最多封包數", 0, 1ull << 40);
	if (xdptx && argc == 6)
		max = parse_num(argv[5], "封包數", 1, 1ull << 40);
	secs = (double)parse_num(argv[3], "秒數", 1, 86400);
	signal(SIGPIPE, SIG_IGN);
	if (!strcmp(argv[1], "rx"))
		return run_rx(argv[2], secs);
	if (argc >= 5) {
		if (load_pcap(argv[4], &fr))
			return 1;
		if (xdptx)
			return run_xdptx(argv[2], secs, &fr, max);
	} else {
		for (fr.n = 0; fr.n < BATCH; fr.n++) {
			build_udp(fr.d[fr.n], fr.n);
			fr.len[fr.n] = 60;
		}
	}
	return run_tx(argv[2], secs, &fr, pps, max);
}
