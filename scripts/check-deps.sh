#!/bin/bash
# scripts/check-deps.sh — make check-deps:列出函式庫版本與核心功能狀態。
# 缺東西時也以 0 結束:這是一份報告,不是檢查。
set -uo pipefail
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

# 函式庫  最低版本  Debian 套件  使用的程式
LIBS=(
	"liburing|2.3|liburing-dev|io_uring_async"
	"libxdp|1.2|libxdp-dev|af_xdp_socket"
	"libbpf|0.8|libbpf-dev|af_xdp_socket"
	"libibverbs|1.14|libibverbs-dev|rdma_communication"
	"librdmacm|1.3|librdmacm-dev|rdma_communication"
	"libdpdk|22.11|libdpdk-dev|dpdk_packet_processing"
)

# 以顯示寬度補齊(中文字佔兩格)
pad() {
	local s=$1 w=$2 n
	n=$(printf '%s' "$s" | wc -L)
	printf '%s%*s' "$s" $((w > n ? w - n : 0)) ''
}

echo "== 函式庫"
printf '%s %s %s %s %s\n' "$(pad 函式庫 12)" "$(pad 需要版本 10)" "$(pad 找到版本 12)" "$(pad Debian套件 16)" "使用的程式"
for row in "${LIBS[@]}"; do
	IFS='|' read -r lib req deb prog <<<"$row"
	if ver=$($PKG_CONFIG --modversion "$lib" 2>/dev/null); then
		if ! $PKG_CONFIG --atleast-version="$req" "$lib" 2>/dev/null; then
			ver="$ver(太舊)"
		fi
	else
		ver=未安裝
	fi
	printf '%s %s %s %s %s\n' "$(pad "$lib" 12)" "$(pad ">= $req" 10)" "$(pad "$ver" 12)" "$(pad "$deb" 16)" "$prog"
done

echo
echo "== 工具"
for t in dpdk-testpmd ib_write_lat rping qemu-system-x86_64 busybox cpio ip ethtool ping nc shellcheck gnuplot redis-benchmark fio; do
	if p=$(command -v "$t" 2>/dev/null); then
		printf '%s %s\n' "$(pad "$t" 20)" "$p"
	else
		printf '%s %s\n' "$(pad "$t" 20)" "未安裝"
	fi
done

echo
echo "== 核心與系統"
printf '%s %s\n' "$(pad 核心版本 20)" "$(uname -r)"
if [ -r /proc/sys/kernel/io_uring_disabled ]; then
	case $(cat /proc/sys/kernel/io_uring_disabled) in
	0) ur="啟用(kernel.io_uring_disabled=0)" ;;
	1) ur="僅限 io_uring_group 群組(kernel.io_uring_disabled=1)" ;;
	*) ur="停用(kernel.io_uring_disabled=2)" ;;
	esac
elif grep -qw io_uring_setup /proc/kallsyms 2>/dev/null; then
	ur="啟用"
else
	ur="未知(無 /proc/sys/kernel/io_uring_disabled)"
fi
printf '%s %s\n' "$(pad io_uring 20)" "$ur"
if grep -q 'AF_XDP\|xsk' /proc/net/protocols 2>/dev/null || grep -qw xsk_socket /proc/kallsyms 2>/dev/null ||
	[ -e /proc/net/xdp ] || grep -qw 'XDP' /proc/net/protocols 2>/dev/null; then
	xdp="支援"
elif [ -r "/boot/config-$(uname -r)" ] && grep -q '^CONFIG_XDP_SOCKETS=y' "/boot/config-$(uname -r)"; then
	xdp="支援(CONFIG_XDP_SOCKETS=y)"
else
	xdp="未確認(找不到 XSK 協定;需要 CONFIG_XDP_SOCKETS)"
fi
printf '%s %s\n' "$(pad AF_XDP 20)" "$xdp"
total=$(awk '/^HugePages_Total/ {print $2}' /proc/meminfo)
free=$(awk '/^HugePages_Free/ {print $2}' /proc/meminfo)
size=$(awk '/^Hugepagesize/ {print $2 $3}' /proc/meminfo)
if [ "${total:-0}" -gt 0 ]; then
	hp="$total 頁 × $size(可用 $free)"
	mountpoint -q /dev/hugepages 2>/dev/null || grep -q hugetlbfs /proc/mounts || hp="$hp,但未掛載 hugetlbfs"
else
	hp="未設定(sudo make setup-hugepages,或 DPDK 用 --no-huge)"
fi
printf '%s %s\n' "$(pad hugepages 20)" "$hp"
devs=$(ls /sys/class/infiniband 2>/dev/null | tr '\n' ' ')
if [ -n "$devs" ]; then
	rd="$devs"
elif [ -d /sys/module/ib_core ] || modinfo rdma_rxe >/dev/null 2>&1; then
	rd="無裝置(可建立 Soft-RoCE:sudo rdma link add rxe0 type rxe netdev 介面)"
else
	rd="無(此核心沒有 RDMA 支援;請用 make rdma-vm 在 VM 中以 Soft-RoCE 執行)"
fi
printf '%s %s\n' "$(pad RDMA裝置 20)" "$rd"
if [ -e /dev/kvm ]; then kvm="有 /dev/kvm(是否可用由 VM 腳本實測)"; else kvm="無(VM 以 TCG 軟體模擬執行)"; fi
printf '%s %s\n' "$(pad KVM 20)" "$kvm"
exit 0
