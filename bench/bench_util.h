/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_util.h — bench/ 與 tests/tools/ 的負載產生器、基準與測試對端共用的小工具
 * (四個示範程式刻意保持獨立,不引用它)。
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define EXIT_USAGE 64

/* 解析 min..max 之間的十進位整數;不合法時印一行中文錯誤並以 64 結束 */
static inline unsigned long parse_num(const char *s, const char *name, unsigned long min, unsigned long max)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max) {
		fprintf(stderr, "錯誤:%s 必須是 %lu 到 %lu 之間的整數,得到「%s」\n", name, min, max, s);
		exit(EXIT_USAGE);
	}
	return v;
}

static inline uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* 網際網路 checksum(RFC 1071):從 sum 開始加上 data 的 16 位元字組(網路位元組順序),回傳取補數後的值 */
static inline uint16_t inet_csum(const void *data, size_t len, uint32_t sum)
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

/* 以網路位元組順序寫入 16 位元值 */
static inline void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

#endif
