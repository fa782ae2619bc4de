#!/bin/bash
# scripts/setup-hugepages.sh — make setup-hugepages [HUGEPAGES=N]:
# 保留 N 個 2 MiB hugepage 並掛載 hugetlbfs(DPDK 使用)。HUGEPAGES=0 釋放。
set -euo pipefail
N=${HUGEPAGES:-512}
case $N in
'' | *[!0-9]*)
	echo "錯誤:HUGEPAGES 必須是非負整數,得到「$N」" >&2
	exit 64
	;;
esac
if [ "$(id -u)" -ne 0 ]; then
	echo "錯誤:設定 hugepages 需要 root 權限,請執行:sudo make setup-hugepages HUGEPAGES=$N" >&2
	exit 1
fi
SYS=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ ! -w "$SYS" ]; then
	echo "錯誤:此核心沒有 2 MiB hugepage($SYS 不存在或不可寫)" >&2
	exit 1
fi
echo "$N" >"$SYS"
got=$(cat "$SYS")
if [ "$N" -gt 0 ] && ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages
	echo "已掛載 hugetlbfs 於 /dev/hugepages"
fi
echo "2 MiB hugepages:要求 $N 頁,實得 $got 頁($((got * 2)) MiB)"
if [ "$got" -lt "$N" ]; then
	echo "注意:記憶體不足或過於零碎,只保留到 $got 頁" >&2
	exit 1
fi
