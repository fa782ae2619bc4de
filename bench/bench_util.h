/* SPDX-License-Identifier: MIT */
/*
 * bench/bench_util.h — bench/ 裡的負載產生器與基準共用的小工具(只給 bench/ 的 C 檔使用;
 * 四個示範程式刻意保持獨立,不引用它)。
 */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <errno.h>
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

#endif
