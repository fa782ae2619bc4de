#!/bin/bash
# demo/rdma.sh — make demo 的 RDMA 段落:在 Soft-RoCE VM 裡實際執行 rdma_communication。
#
# 主機核心沒有 RDMA,所以開一次 qemu VM(tests/vm/rdma-vm.sh,Debian 核心套件 + rdma_rxe),
# 在裡面跑伺服器與客戶端:SEND 問候、RDMA WRITE 再 READ 回來驗證,接著短短的延遲與頻寬量測,
# 以及同一個 VM 裡的 TCP ping-pong 與串流作為對照。量到的數字以 bench_row 寫進原始結果
# (名稱標「demo」、總覽欄為 -:總覽表的數字來自 bench/rdma.sh 的多輪交錯量測)。
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
bash tests/vm/rdma-vm.sh run -t 150 "${files[@]}" -e "DEMO_SHORT=${DEMO_SHORT:-0}" tests/vm/guest-demo.sh 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
if [ "$rc" != 0 ]; then
	echo "RDMA 示範失敗(VM 結束碼 $rc)" >&2
	exit 1
fi

# SUMMARY 行 -> bench_row(12 欄,每次量測一列;示範只跑一次,名稱標「demo」;總覽表的格子與 bench/rdma.sh 相同)
sv() { # 鍵 test op
	grep -a "^SUMMARY role=client test=$2 op=$3 " "$out" | sed -n "s/.* $1=\([^ ]*\).*/\1/p" | tail -n1
}
v() { # 鍵 test op:沒有就印 -
	local x
	x=$(sv "$1" "$2" "$3")
	echo "${x:--}"
}
ev() { # test op:佐證欄(兩側的 CPU)
	echo "server_cpu_ns=$(v server_cpu_ns "$1" "$2") client_cpu_ns=$(v cpu_ns "$1" "$2") ops=$(v iters "$1" "$2")"
}
method="Soft-RoCE(rdma_rxe)在 qemu TCG VM 內,單次示範量測"
[ "${DEMO_SHORT:-0}" = 1 ] && method="$method(DEMO_SHORT)"
lat_base=-
bw_base=-
if grep -aq 'op=tcp' "$out"; then
	lat_base="TCP ping-pong (VM, demo)"
	bw_base="TCP stream (VM, demo)"
	bench_row sockets "$lat_base" baseline "$(v p50_us lat tcp)" "$(v p99_us lat tcp)" - - "$(v server_cpu_ns lat tcp)" - \
		"$method;64 B,單程 = 來回/2" lat "$(ev lat tcp)"
	bench_row sockets "$bw_base" baseline - - "$(v mbps bw tcp)" MB/s "$(v server_cpu_ns bw tcp)" - \
		"$method;64 KiB 串流" thr,cpu "$(ev bw tcp)"
fi
bench_row rdma "SEND 延遲(demo)" bypass "$(v p50_us lat send)" "$(v p99_us lat send)" - - "$(v server_cpu_ns lat send)" \
	"$lat_base" "$method;64 B,單程 = 來回/2" - "$(ev lat send)"
bench_row rdma "RDMA WRITE 延遲(demo)" bypass "$(v p50_us lat write)" "$(v p99_us lat write)" - - \
	"$(v server_cpu_ns lat write)" "$lat_base" "$method;64 B,單程 = 來回/2" lat "$(ev lat write)"
bench_row rdma "RDMA WRITE 頻寬(demo)" bypass - - "$(v mbps bw write)" MB/s "$(v server_cpu_ns bw write)" "$bw_base" \
	"$method;64 KiB,佇列深度 32;CPU = 被動端(伺服器)每次" thr,cpu "$(ev bw write)"
bench_row rdma "RDMA SEND 頻寬(demo)" bypass - - "$(v mbps bw send)" MB/s "$(v server_cpu_ns bw send)" "$bw_base" \
	"$method;64 KiB,佇列深度 32;CPU = 伺服器每次" - "$(ev bw send)"
grep -aq 'verify=ok server_verify=ok' "$out" || {
	echo "RDMA 示範:WRITE/READ 驗證沒有成功" >&2
	exit 1
}
echo "RDMA 示範完成:問候、WRITE/READ 驗證、延遲與頻寬都在 VM 裡實際執行過。"
exit 0
