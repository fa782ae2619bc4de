#!/bin/bash
# tests/demo.sh — make demo 與比較表產生器的測試
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/lib.sh"
cd "$T_ROOT" || exit 1

FIXTURE=$T_ROOT/tests/data/comparison

# 以錄下的結果(tests/data/comparison)測試比較表:欄位、比值、略過的技術
t_comparison_table() {
	bash scripts/comparison.sh "$FIXTURE" "$T_TMP/out.d" >"$T_TMP/table" 2>&1 || fail "comparison.sh 失敗"
	cat "$T_TMP/table"
	local md=$T_TMP/out.d/comparison.md
	[ -s "$md" ] || fail "沒有 comparison.md"
	expect_file_match "$md" '^\| 技術 \| 項目 \| 延遲 p50 \(µs\) \| 延遲 p99 \(µs\) \| 吞吐量 \| 每次 CPU \(ns\) \| 對照基準 \| 吞吐比 \| p50 比 \| CPU 比 \| 量測方式 \|$' "表頭欄位"
	expect_file_match "$md" '^\| io_uring \| io_uring echo, 128B ping-pong 50 conns \| 200 \| 800 \| 50k req/s \| 15k \| epoll echo, 128B ping-pong 50 conns \| 1\.25x \| 0\.80x \| 0\.75x \|' "io_uring 列與比值"
	expect_file_match "$md" '^\| AF_XDP \| AF_XDP rxdrop native \(veth\) \| - \| - \| 500k pps \| - \| TPACKET_V3 rx \(veth\) \| 2\.50x \|' "AF_XDP 吞吐比"
	expect_file_match "$md" '^\| AF_XDP \| AF_XDP respond native poll \(veth\) \| 15\.0 \| 60\.0 \| - .*\| 1\.50x \|' "AF_XDP 延遲比"
	expect_file_match "$md" '^\| RDMA \| \(略過\) .*找不到 qemu-system-x86_64 \|$' "略過的技術與原因"
	expect_file_match "$md" '^\| DPDK \| \(略過\) .*未執行' "沒有結果的技術"
	expect_file_match "$md" '^\| 傳統 socket \| epoll echo' "基準列"
	expect_file_match "$md" '^\| io_uring \| < 10 µs、> 1M rps \| 50k req/s \| 200 \|' "種子宣稱對照"
	expect_file_match "$md" '^機器:.*vCPU.*Linux' "機器資訊"
	local js=$T_TMP/out.d/comparison.json
	[ -s "$js" ] || fail "沒有 comparison.json"
	expect_file_match "$js" '"ratio_throughput": 1\.25' "JSON 的比值"
	expect_file_match "$js" '"rdma": "找不到 qemu-system-x86_64"' "JSON 的略過原因"
	if command -v python3 >/dev/null 2>&1; then
		python3 -m json.tool "$js" >/dev/null || fail "comparison.json 不是合法的 JSON"
	fi
	if command -v gnuplot >/dev/null 2>&1; then
		[ -s "$T_TMP/out.d/comparison.png" ] || fail "有 gnuplot 卻沒有 comparison.png"
		head -c 8 "$T_TMP/out.d/comparison.png" | grep -q PNG || fail "comparison.png 不是 PNG"
	fi
}

t_comparison_no_input() {
	expect_fail bash scripts/comparison.sh "$T_TMP/empty" "$T_TMP/o"
	expect_file_match "$T_TMP/out" '沒有任何結果' "沒有結果時的訊息"
}

# make demo 的精簡版(CI 的完整模式至少跑一次),必須以 0 結束並印出比較表
t_make_demo_short() {
	need_full
	need_root
	DEMO_SHORT=1 make -s -C "$T_ROOT" --no-print-directory demo >"$T_TMP/demo" 2>&1
	local rc=$?
	cat "$T_TMP/demo"
	[ "$rc" -eq 0 ] || fail "make demo 結束碼 $rc:$(grep -m1 -E '失敗' "$T_TMP/demo")"
	expect_file_match "$T_TMP/demo" '在這台機器上量到的比較表' "比較表標題"
	expect_file_match "$T_TMP/demo" '^\| 技術 \| 項目' "比較表"
	[ -s "$T_ROOT/results/demo/comparison.md" ] || fail "沒有 results/demo/comparison.md"
	# 示範結束後不能留下命名空間或程式
	! ip netns list | grep -q "^kbs-" || fail "make demo 留下了命名空間:$(ip netns list | grep '^kbs-' | tr '\n' ' ')"
	! pgrep -x af_xdp_socket >/dev/null || fail "make demo 留下了 af_xdp_socket"
	! pgrep -x io_uring_async >/dev/null || fail "make demo 留下了 io_uring_async"
}

check comparison_table t_comparison_table
check comparison_no_input t_comparison_no_input
check make_demo_short t_make_demo_short
