// SPDX-License-Identifier: MIT
/*
 * bench/xdp_livegen.c — AF_XDP 效能比較用的封包產生器:核心裡的 XDP「live frames」測試執行
 *
 *   xdp_livegen [--size 位元組] 介面 目的MAC 目的IP 數量 [來源IP]
 *
 *   --size:frame 大小(不含 FCS),60..3500,預設 64(bench/af_xdp.sh 的曲線用 64、512、1500)
 *
 * 做法(與 xdp-tools 的 xdp-trafficgen 相同,自己寫是因為它在這個核心上的 BTF 探測失敗):
 * 載入一個只有兩個指令的 XDP 程式(回傳 XDP_TX),以 BPF_PROG_TEST_RUN 加上
 * BPF_F_TEST_XDP_LIVE_FRAMES 在核心裡重複執行 N 次:每次都把同一個 UDP frame
 * 從「介面」送出。在 veth 上 frame 以 xdp_frame 的形式直接進到對端的接收佇列(沒有 skb),
 * 就像真實網卡的驅動程式收到封包一樣:對端若掛了 native XDP,程式直接處理 frame;
 * 沒有的話 veth 才替核心堆疊建立 skb(需要對端 gro on,見 PLATFORM.md)。
 * 產生器本身每個 frame 只花幾十 ns,量到的主要是接收端的成本。
 *
 * frame:乙太網路 + IPv4 + UDP(來源埠 9000、目的埠 9),payload 是 A..Z,檢查碼正確。
 * 輸出一行:sent=N elapsed_s=T pps=P cpu_s=C(cpu_s 含這個行程裡執行的 softirq:在 veth 上就是對端的收包工作)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include "bench_util.h"

static size_t build_frame(uint8_t *f, size_t size, const uint8_t dst[6], const uint8_t src[6], struct in_addr sip,
			  struct in_addr dip)
{
	uint8_t *ip = f + ETH_HLEN, *udp = ip + 20;
	uint16_t udp_len = (uint16_t)(size - ETH_HLEN - 20);

	memset(f, 0, size);
	memcpy(f, dst, 6);
	memcpy(f + 6, src, 6);
	wr16(f + 12, ETH_P_IP);
	ip[0] = 0x45;
	wr16(ip + 2, (uint16_t)(size - ETH_HLEN));
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, &sip, 4);
	memcpy(ip + 16, &dip, 4);
	wr16(ip + 10, inet_csum(ip, 20, 0));
	wr16(udp, 9000);
	wr16(udp + 2, 9);
	wr16(udp + 4, udp_len);
	for (unsigned i = 8; i < udp_len; i++)
		udp[i] = (uint8_t)('A' + i % 26);
	uint32_t sum = (uint32_t)(ip[12] << 8 | ip[13]) + (uint32_t)(ip[14] << 8 | ip[15]) +
		       (uint32_t)(ip[16] << 8 | ip[17]) + (uint32_t)(ip[18] << 8 | ip[19]) + IPPROTO_UDP + udp_len;
	uint16_t ck = inet_csum(udp, udp_len, sum);
	wr16(udp + 6, ck ? ck : 0xffff);
	return size;
}

int main(int argc, char **argv)
{
	/* r0 = XDP_TX; exit */
	const struct bpf_insn prog[] = {
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = XDP_TX },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static uint8_t frame[3500];
	uint8_t dst[6], src[6];
	struct in_addr sip = { 0 }, dip;
	struct ifreq ifr = { 0 };
	int ifindex, fd, sock;
	size_t size = 64;
	const char *self = argv[0];

	if (argc > 2 && !strcmp(argv[1], "--size")) { /* 選項放在位置參數之前;原本的用法不變 */
		size = parse_num(argv[2], "--size", 60, sizeof(frame));
		argv += 2;
		argc -= 2;
	}
	if (argc < 5 || argc > 6) {
		fprintf(stderr, "用法:%s [--size 位元組] 介面 目的MAC 目的IP 數量 [來源IP]\n", self);
		return 64;
	}
	ifindex = (int)if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "錯誤:沒有介面 %s\n", argv[1]);
		return 1;
	}
	if (sscanf(argv[2], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &dst[0], &dst[1], &dst[2], &dst[3], &dst[4], &dst[5]) != 6 ||
	    inet_pton(AF_INET, argv[3], &dip) != 1 || (argc == 6 && inet_pton(AF_INET, argv[5], &sip) != 1)) {
		fprintf(stderr, "錯誤:MAC 或 IP 格式錯誤\n");
		return 64;
	}
	uint64_t n = parse_num(argv[4], "數量", 1, 1ull << 40);

	/* 介面自己的 MAC 與 IPv4 當來源 */
	sock = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", argv[1]);
	if (sock < 0 || ioctl(sock, SIOCGIFHWADDR, &ifr)) {
		fprintf(stderr, "錯誤:讀不到 %s 的 MAC:%s\n", argv[1], strerror(errno));
		return 1;
	}
	memcpy(src, ifr.ifr_hwaddr.sa_data, 6);
	if (argc < 6) {
		ifr.ifr_addr.sa_family = AF_INET;
		if (!ioctl(sock, SIOCGIFADDR, &ifr))
			sip = ((struct sockaddr_in *)&ifr.ifr_addr)->sin_addr;
	}
	close(sock);
	size_t len = build_frame(frame, size, dst, src, sip, dip);

	struct rlimit rl = { RLIM_INFINITY, RLIM_INFINITY };
	setrlimit(RLIMIT_MEMLOCK, &rl);
	fd = bpf_prog_load(BPF_PROG_TYPE_XDP, "livegen", "GPL", prog, 2, NULL);
	if (fd < 0) {
		fprintf(stderr, "錯誤:載入 XDP 程式失敗:%s(需要 root)\n", strerror(errno));
		return 1;
	}

	struct xdp_md ctx = { .data_end = (uint32_t)len, .ingress_ifindex = (uint32_t)ifindex };
	uint64_t sent = 0, t0 = now_ns();
	while (sent < n) {
		/* repeat 是 int:分段送 */
		uint64_t chunk = n - sent > 100000000 ? 100000000 : n - sent;
		LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .data_size_in = (uint32_t)len, .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx), .repeat = (int)chunk, .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			    .batch_size = 64);
		if (bpf_prog_test_run_opts(fd, &opts)) {
			int e = errno;
			fprintf(stderr, "錯誤:BPF_PROG_TEST_RUN(live frames)失敗:%s(核心要 5.18+%s)\n", strerror(e),
				e == EPERM ? ";root 也被拒絕:這台機器不允許 XDP live frames" : "");
			return e == EPERM ? 77 : 1; /* 77:無法在此執行,不是我們的錯 */
		}
		sent += chunk;
	}
	double el = (double)(now_ns() - t0) / 1e9;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("sent=%llu elapsed_s=%.3f pps=%.0f cpu_s=%.3f\n", (unsigned long long)sent, el, el > 0 ? sent / el : 0,
	       (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	close(fd);
	return 0;
}
