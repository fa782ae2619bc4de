#!/bin/bash
# demo/rdma.sh — make demo 的 RDMA 段落:在 Soft-RoCE VM 裡實際執行 rdma_communication。
#
# 主機核心沒有 RDMA,所以開一次 qemu VM(tests/vm/rdma-vm.sh,Debian 核心套件 + rdma_rxe),
# 在裡面跑伺服器與客戶端:SEND 問候、RDMA WRITE 再 READ 回來驗證,接著短短的延遲與頻寬量測,
# 以及同一個 VM 裡的 TCP ping-pong 作為對照。量到的數字以 bench_row 寫進比較表。
# 結束碼:0 成功,77 略過(印出原因),其他 = 失敗。DEMO_SHORT=1 時量測更短。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

PROG=$T_ROOT/rdma_communication
TCP=$T_ROOT/bench/rdma_tcp_pingpong
skip_demo() {
	echo "略過 RDMA 示範:$*"
	bench_skip "$*"
	exit 77
}
is_root || skip_demo "需要 root(第一次要以 apt-get download 取得 Debian 核心套件並建立 VM):sudo make demo"
command -v qemu-system-x86_64 >/dev/null 2>&1 || skip_demo "找不到 qemu-system-x86_64(sudo make install-deps)"
[ -x "$PROG" ] || skip_demo "rdma_communication 未建置(缺 libibverbs-dev / librdmacm-dev?執行 make 看原因)"

files=(-f "$PROG")
[ -x "$TCP" ] && files+=(-f "$TCP")
out=$(mktemp)
on_exit "rm -f '$out'"
echo "主機核心沒有 RDMA:開一個 qemu VM,載入 Soft-RoCE(rdma_rxe),在 eth0 上建立 rxe0。"
echo "(VM 以軟體模擬 CPU,數字比真的 RDMA 網卡慢兩、三個數量級,比值才有意義)"
bash tests/vm/rdma-vm.sh run -t 100 "${files[@]}" -e "DEMO_SHORT=${DEMO_SHORT:-0}" tests/vm/guest-demo.sh 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" != 0 ]; then
	echo "RDMA 示範失敗(VM 結束碼 $rc)" >&2
	exit 1
fi

# SUMMARY 行 -> bench_row
kv() { # 鍵 test op
	grep -a "^SUMMARY role=client test=$2 op=$3 " "$out" | sed -n "s/.* $1=\([^ ]*\).*/\1/p" | tail -n1
}
v() { # 鍵 op(延遲)
	local x
	x=$(kv "$1" lat "$2")
	echo "${x:--}"
}
method="Soft-RoCE(rdma_rxe)在 qemu TCG VM 內,單次示範量測"
[ "${DEMO_SHORT:-0}" = 1 ] && method="$method(DEMO_SHORT)"
if grep -aq 'op=tcp' "$out"; then
	bench_row sockets "TCP ping-pong (VM, demo)" baseline "$(v p50_us tcp)" "$(v p99_us tcp)" - - "$(v cpu_ns tcp)" - "$method;64 B,單程 = 來回/2"
	base="TCP ping-pong (VM, demo)"
else
	base=-
fi
bench_row rdma "SEND 延遲(demo)" bypass "$(v p50_us send)" "$(v p99_us send)" - - "$(v cpu_ns send)" "$base" "$method;64 B,單程 = 來回/2"
bench_row rdma "RDMA WRITE 延遲(demo)" bypass "$(v p50_us write)" "$(v p99_us write)" - - "$(v cpu_ns write)" "$base" "$method;64 B,單程 = 來回/2"
mbps=$(kv mbps bw write)
bw_cpu=$(kv cpu_ns bw write)
bench_row rdma "RDMA WRITE 頻寬(demo)" bypass - - "${mbps:--}" MB/s "${bw_cpu:--}" - "$method;64 KiB,佇列深度 32"
grep -aq 'verify=ok server_verify=ok' "$out" || {
	echo "RDMA 示範:WRITE/READ 驗證沒有成功" >&2
	exit 1
}
echo "RDMA 示範完成:問候、WRITE/READ 驗證、延遲與頻寬都在 VM 裡實際執行過。"
exit 0
