/*
 * bench/dpdk_parse_cost.c — dpdk_packet_processing 的解析本身每個封包花多少時間(單獨量測)
 *
 * 記憶體重播的比值(rxonly + 解析 ÷ testpmd rxonly)在這台共用的 VM 上每輪差到 ±20%,
 * 量不出 1 ns 的差別。這個工具把 dpdk_packet_processing.c 整個 #include 進來,呼叫它真正的
 * count_burst()(rxonly + 解析比 --no-parse 多做的就是這一個函式),不經過 PMD:
 *   - 真實訊框:從 pcap 讀進來(bench/dpdk.sh 用 tests/tools/dpdk_pcap mix 的同一組訊框)
 *   - 每一批 32 個:先把訊框複製進剛配置的 mbuf(net_pcap 的 rx_burst 也是這樣做,所以標頭在快取裡),
 *     再以 rdtsc(前後 lfence)計時 count_burst;同樣量一次空的計時(計時本身的成本)並扣掉
 *   - 每一輪把全部訊框跑一遍;--reps 輪,解析與空計時在同一輪裡交錯,取各輪的中位數
 * 結果一行:SUMMARY parse_ns_per_pkt= timer_ns_per_pkt= min_parse_ns_per_pkt= pkts= 以及解析計數
 * (證明真的解析了:ipv4、ipv6、tcp、udp、malformed…)。
 *
 *   bench/dpdk_parse_cost -l 1 --no-pci --no-huge -m 256 -- 檔案.pcap [輪數]
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

/* pcap(微秒或奈秒時戳、小端序)的前 PC_MAX_FRAMES 個訊框;比 mbuf 資料區大的略過 */
static int load_pcap(const char *path, struct frames *f)
{
	uint8_t gh[24], rh[16];
	uint32_t magic, cl;
	FILE *fp = fopen(path, "rb");

	if (!fp || fread(gh, 1, sizeof(gh), fp) != sizeof(gh)) {
		if (fp)
			fclose(fp);
		return -1;
	}
	memcpy(&magic, gh, 4);
	if (magic != 0xa1b2c3d4 && magic != 0xa1b23c4d) {
		fclose(fp);
		return -1;
	}
	while (f->n < PC_MAX_FRAMES && fread(rh, 1, sizeof(rh), fp) == sizeof(rh)) {
		memcpy(&cl, rh + 8, 4);
		if (cl > RTE_MBUF_DEFAULT_DATAROOM) {
			if (fseek(fp, cl, SEEK_CUR))
				break;
			continue;
		}
		if (fread(f->data[f->n], 1, cl, fp) != cl)
			break;
		f->len[f->n++] = cl;
	}
	fclose(fp);
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

int main(int argc, char **argv)
{
	static struct frames f;
	struct rte_mbuf *pk[PC_BURST];
	struct rte_mempool *mp;
	struct stream *s;
	uint64_t *parse, *timer;
	unsigned int reps, bursts;
	double ns;
	int r = rte_eal_init(argc, argv);

	if (r < 0) {
		fprintf(stderr, "錯誤:EAL 初始化失敗:%s\n", rte_strerror(rte_errno));
		return 1;
	}
	argc -= r;
	argv += r;
	if (argc < 2 || argc > 3) {
		fprintf(stderr, "用法:dpdk_parse_cost [EAL 選項] -- 檔案.pcap [輪數,預設 41]\n");
		return 64;
	}
	reps = argc == 3 ? (unsigned int)strtoul(argv[2], NULL, 10) : 41;
	if (reps < 1 || reps > 100000) {
		fprintf(stderr, "錯誤:輪數要在 1 到 100000 之間:%s\n", argv[2]);
		return 64;
	}
	f.data = malloc(sizeof(*f.data) * PC_MAX_FRAMES);
	parse = calloc(reps, sizeof(*parse));
	timer = calloc(reps, sizeof(*timer));
	if (!f.data || !parse || !timer) {
		fprintf(stderr, "錯誤:記憶體不足\n");
		return 1;
	}
	if (load_pcap(argv[1], &f) < 0 || f.n < PC_BURST) {
		fprintf(stderr, "錯誤:%s 不是 pcap,或訊框少於 %d 個\n", argv[1], PC_BURST);
		return 1;
	}
	bursts = f.n / PC_BURST;
	mp = rte_pktmbuf_pool_create("parse_cost", 2 * PC_BURST * 64, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE,
				     (int)rte_socket_id());
	s = rte_zmalloc(NULL, sizeof(*s), RTE_CACHE_LINE_SIZE);
	if (!mp || !s) {
		fprintf(stderr, "錯誤:無法配置 mbuf pool:%s\n", rte_strerror(rte_errno));
		return 1;
	}
	/* 和 net_pcap 上的 rxonly + 解析相同的旗標:網卡不判定 checksum,預設 --l4-cksum hw = 不驗證 L4 */
	s->flags = 0;

	for (unsigned int rep = 0; rep < reps; rep++) {
		for (unsigned int b = 0; b < bursts; b++) {
			for (int pass = 0; pass < 2; pass++) {
				uint64_t t0;

				if (rte_pktmbuf_alloc_bulk(mp, pk, PC_BURST)) {
					fprintf(stderr, "錯誤:mbuf 用完了\n");
					return 1;
				}
				for (int i = 0; i < PC_BURST; i++) {
					unsigned int k = b * PC_BURST + i;

					rte_memcpy(rte_pktmbuf_mtod(pk[i], void *), f.data[k], f.len[k]);
					pk[i]->pkt_len = pk[i]->data_len = (uint16_t)f.len[k];
				}
				t0 = tsc_fenced();
				if (pass == 0)
					count_burst(s, pk, PC_BURST);
				(pass == 0 ? parse : timer)[rep] += tsc_fenced() - t0;
				rte_pktmbuf_free_bulk(pk, PC_BURST);
			}
		}
	}
	ns = 1e9 / (double)rte_get_tsc_hz() / (bursts * PC_BURST);
	qsort(parse, reps, sizeof(*parse), cmp_u64);
	qsort(timer, reps, sizeof(*timer), cmp_u64);
	printf("SUMMARY parse_ns_per_pkt=%.2f min_parse_ns_per_pkt=%.2f timer_ns_per_pkt=%.2f pkts=%u reps=%u",
	       (double)(parse[reps / 2] - timer[reps / 2]) * ns, (double)(parse[0] - timer[0]) * ns,
	       (double)timer[reps / 2] * ns, bursts * PC_BURST, reps);
	printf(" ipv4=%" PRIu64 " ipv6=%" PRIu64 " tcp=%" PRIu64 " udp=%" PRIu64 " vlan=%" PRIu64
	       " malformed=%" PRIu64 " l4_unverified=%" PRIu64 "\n",
	       s->c.kinds[K_IPV4] + s->c.kinds[K_IPV4_TCP] + s->c.kinds[K_IPV4_UDP] + s->c.kinds[K_IPV4_ICMP],
	       s->c.kinds[K_IPV6] + s->c.kinds[K_IPV6_TCP] + s->c.kinds[K_IPV6_UDP] + s->c.kinds[K_IPV6_ICMPV6],
	       s->c.kinds[K_IPV4_TCP] + s->c.kinds[K_IPV6_TCP], s->c.kinds[K_IPV4_UDP] + s->c.kinds[K_IPV6_UDP],
	       s->c.tags[1] + s->c.tags[2], s->c.kinds[K_MALFORMED], s->c.l4_unverified);
	rte_mempool_free(mp);
	rte_free(s);
	free(parse);
	free(timer);
	free(f.data);
	rte_eal_cleanup();
	return 0;
}
