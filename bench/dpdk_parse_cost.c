/*
 * bench/dpdk_parse_cost.c — dpdk_packet_processing 的解析本身每個封包花多少時間(單獨量測)
 *
 * 記憶體重播的比值(rxonly + 解析 ÷ testpmd rxonly)在這台共用的 VM 上每輪差到 ±20%,
 * 量不出 1 ns 的差別。這個工具把 dpdk_packet_processing.c 整個 #include 進來,呼叫它真正的
 * count_burst()(rxonly + 解析比 --no-parse 多做的就是這一個函式),不經過 PMD:
 *   - 真實訊框:從 pcap 讀進來(bench/dpdk.sh 用 tests/tools/dpdk_pcap mix 的同一組訊框)
 *   - 每一批 32 個:先把訊框複製進剛配置的 mbuf(net_pcap 的 rx_burst 也是這樣做,所以標頭在快取裡),
 *     再以 rdtsc(前後 lfence)計時 count_burst;同樣量一次空的計時(計時本身的成本)並扣掉
 *   - 每一輪把全部完整的批次跑一遍,解析與空計時在同一輪裡交錯;結果是兩者各輪總和的中位數相減
 *     (與最小值相減)。
 *     先跑一輪不計(冷的快取與分支預測)
 * 結果一行:SUMMARY parse_ns_per_pkt= min_parse_ns_per_pkt= timer_ns_per_pkt= pkts= reps= 以及一輪的解析計數
 * (證明真的解析了:和程式 SUMMARY 的 p0_ipv4= 等同樣的名稱,與 pcap 的組成一致)。
 * 限制:一次執行約 1 秒,整段時間都落在同一種機器負載裡。共用的 VM 上鄰居忙的時候整次會慢到兩倍
 * (雙峰),所以要比兩個版本,請交錯執行多次再看中位數與最小值,不要只看一次。
 * 只量單一 segment 的訊框:pcap 必須是乙太網路(linktype 1)、每個訊框不超過 mbuf 的資料區。
 *
 *   bench/dpdk_parse_cost -l 1 --no-pci --no-huge -m 256 -- 檔案.pcap [輪數,3..100000]
 */
#define main dpdk_packet_processing_main
#include "../dpdk_packet_processing.c"
#undef main

#include <x86intrin.h>

#define PC_MAX_FRAMES 4096
#define PC_BURST 32

struct frames {
	uint8_t (*data)[RTE_MBUF_DEFAULT_DATAROOM];
	uint32_t len[PC_MAX_FRAMES];
	unsigned int n;
};

/*
 * pcap(微秒或奈秒時戳、小端序、乙太網路)的前 PC_MAX_FRAMES 個訊框。錯誤時印一行原因並回傳 -1:
 * 不是 pcap、不是乙太網路、檔案在訊框中間截斷、訊框比 mbuf 的資料區大(這個工具只量單一 segment)
 */
static int load_pcap(const char *path, struct frames *f)
{
	uint8_t gh[24], rh[16];
	uint32_t magic, link, cl;
	const char *why = NULL;
	FILE *fp = fopen(path, "rb");
	size_t got;

	if (!fp) {
		fprintf(stderr, "錯誤:無法開啟 %s:%s\n", path, strerror(errno));
		return -1;
	}
	if (fread(gh, 1, sizeof(gh), fp) != sizeof(gh))
		why = "不是 pcap(檔頭不完整)";
	memcpy(&magic, gh, 4);
	memcpy(&link, gh + 20, 4);
	if (!why && magic != 0xa1b2c3d4 && magic != 0xa1b23c4d)
		why = "不是小端序的 pcap";
	if (!why && (link & 0xffff) != 1)
		why = "不是乙太網路的 pcap(linktype 不是 1)";
	while (!why && f->n < PC_MAX_FRAMES && (got = fread(rh, 1, sizeof(rh), fp)) > 0) {
		if (got != sizeof(rh)) {
			why = "在訊框標頭中間截斷";
			break;
		}
		memcpy(&cl, rh + 8, 4);
		if (cl > RTE_MBUF_DEFAULT_DATAROOM) {
			why = "有比 mbuf 資料區(2048 位元組)大的訊框;這個工具只量單一 segment";
			break;
		}
		if (fread(f->data[f->n], 1, cl, fp) != cl) {
			why = "在訊框中間截斷";
			break;
		}
		f->len[f->n++] = cl;
	}
	fclose(fp);
	if (why) {
		fprintf(stderr, "錯誤:%s %s\n", path, why);
		return -1;
	}
	return 0;
}

static inline uint64_t tsc_fenced(void)
{
	uint64_t t;

	_mm_lfence();
	t = __rdtsc();
	_mm_lfence();
	return t;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * 一輪:每一批先複製進 mbuf,解析(pass 0)與空計時(pass 1)各計時一次,把兩者的 TSC 加進
 * *parse 與 *timer。mbuf 用完時回傳 -1。
 */
static int one_round(struct rte_mempool *mp, struct stream *s, const struct frames *f,
		     unsigned int bursts, uint64_t *parse, uint64_t *timer)
{
	struct rte_mbuf *pk[PC_BURST];

	*parse = *timer = 0;

	for (unsigned int b = 0; b < bursts; b++) {
		for (int pass = 0; pass < 2; pass++) {
			uint64_t t0;

			if (rte_pktmbuf_alloc_bulk(mp, pk, PC_BURST))
				return -1;
			for (int i = 0; i < PC_BURST; i++) {
				unsigned int k = b * PC_BURST + i;

				rte_memcpy(rte_pktmbuf_mtod(pk[i], void *), f->data[k], f->len[k]);
				pk[i]->pkt_len = pk[i]->data_len = (uint16_t)f->len[k];
			}
			t0 = tsc_fenced();
			if (pass == 0)
				count_burst(s, pk, PC_BURST);
			*(pass == 0 ? parse : timer) += tsc_fenced() - t0;
			rte_pktmbuf_free_bulk(pk, PC_BURST);
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct frames f;
	struct rte_mempool *mp = NULL;
	struct stream *s = NULL;
	uint64_t *parse = NULL, *timer = NULL, p0, t0;
	unsigned long long reps = 1501;
	unsigned int bursts;
	uint64_t proto[P_MAX] = { 0 };
	double ns;
	int rc = 1, r = rte_eal_init(argc, argv);

	if (r < 0) {
		fprintf(stderr, "錯誤:EAL 初始化失敗:%s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= r;
	argv += r;
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "用法:dpdk_parse_cost [EAL 選項] -- 檔案.pcap [輪數 3..100000,預設 1501]\n");
		rc = 64;
		goto out;
	}
	if (argc == 3 && !parse_uint(argv[2], 3, 100000, &reps, 10)) { /* 程式自己的數字解析 */
		fprintf(stderr, "錯誤:輪數要是 3 到 100000 的整數:%s\n", argv[2]);
		rc = 64;
		goto out;
	}
	f.data = malloc(sizeof(*f.data) * PC_MAX_FRAMES);
	parse = calloc(reps, sizeof(*parse));
	timer = calloc(reps, sizeof(*timer));
	if (!f.data || !parse || !timer) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		goto out;
	}
	if (load_pcap(argv[1], &f) < 0)
		goto out;
	if (f.n < PC_BURST) {
		fprintf(stderr, "錯誤:%s 只有 %u 個訊框,至少要一批(%d 個)\n", argv[1], f.n, PC_BURST);
		goto out;
	}
	bursts = f.n / PC_BURST; /* 湊不滿一批的最後幾個不用:pkts= 說用了幾個 */
	mp = rte_pktmbuf_pool_create("parse_cost", 2 * PC_BURST * 64, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     (int)rte_socket_id());
	if (!mp) {
		fprintf(stderr, "錯誤:無法建立 mbuf pool:%s\n", rte_strerror(rte_errno));
		goto out;
	}
	s = rte_zmalloc(NULL, sizeof(*s), RTE_CACHE_LINE_SIZE);
	if (!s) {
		fprintf(stderr, "錯誤:無法配置 stream\n");
		goto out;
	}
	/* 和 net_pcap 上的 rxonly + 解析相同的旗標:網卡不判定 checksum,預設 --l4-cksum hw = 不驗證 L4 */
	s->flags = 0;
	/* 暖身一輪不計(冷的快取與分支預測),計數也從下一輪開始 */
	if (one_round(mp, s, &f, bursts, &p0, &t0) < 0)
		goto nombuf;
	memset(&s->c, 0, sizeof(s->c));
	for (unsigned long long i = 0; i < reps; i++)
		if (one_round(mp, s, &f, bursts, &parse[i], &timer[i]) < 0)
			goto nombuf;
	/* 解析 − 空計時:兩者各自排序,中位數減中位數、最小值減最小值(各輪的差可能被單次中斷弄成負的) */
	qsort(parse, reps, sizeof(*parse), cmp_u64);
	qsort(timer, reps, sizeof(*timer), cmp_u64);
	ns = 1e9 / (double)rte_get_tsc_hz() / (bursts * PC_BURST);
	printf("SUMMARY parse_ns_per_pkt=%.2f min_parse_ns_per_pkt=%.2f timer_ns_per_pkt=%.2f pkts=%u reps=%llu",
	       ((double)parse[reps / 2] - (double)timer[reps / 2]) * ns, ((double)parse[0] - (double)timer[0]) * ns,
	       (double)timer[reps / 2] * ns, bursts * PC_BURST, reps);
	/* 每輪的解析計數,和程式的 SUMMARY 同樣的名稱與算法(add_kinds):每一輪解析同一組訊框,總數 ÷ 輪數就是 pcap 的組成 */
	add_kinds(proto, s->c.kinds, s->c.tags);
	for (int k = 0; k < P_MAX; k++)
		printf(" %s=%" PRIu64, proto_names[k], proto[k] / (uint64_t)reps);
	printf(" l4_unverified=%" PRIu64 "\n", s->c.l4_unverified / (uint64_t)reps);
	rc = 0;
	goto out;
nombuf:
	fprintf(stderr, "錯誤:mbuf 用完了\n");
out:
	rte_mempool_free(mp);
	rte_free(s);
	free(parse);
	free(timer);
	free(f.data);
	rte_eal_cleanup();
	return rc;
}
