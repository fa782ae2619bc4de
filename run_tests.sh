#!/bin/bash
# run_tests.sh — 核心旁路示範套件的測試驅動程式
#
# 用法:
#   ./run_tests.sh [套件…]          基本模式:不需要 root 的檢查
#   sudo ./run_tests.sh -f [套件…]  完整模式:需要 root(命名空間、XDP、DPDK、VM)
#   sudo ./run_tests.sh -p [套件…]  效能模式:執行 bench/ 的效能比較並印出表格
#   sudo ./run_tests.sh -p quick [套件…]  效能模式的快速版(每點 3 次、較少的點)
#   ./run_tests.sh -h               說明
#
# 檢查本身放在 tests/<套件>.sh;效能比較在 bench/<套件>.sh。
# 最後一行固定是「N passed, N failed, N skipped」,有任何失敗時結束碼非零。

set -uo pipefail
cd "$(dirname "$0")" || exit 1
ROOT=$(pwd)

ALL_SUITES=(foundation io_uring af_xdp dpdk rdma demo)
PERF_SUITES=(io_uring af_xdp dpdk rdma)

usage() {
	cat <<'EOF'
用法:./run_tests.sh [-f | -p] [-v] [-k 樣式] [套件…]

模式:
  (無)     基本模式:只執行不需要 root 的檢查,不安裝任何東西
  -f       完整模式:需要 root;缺少的套件會先以 make install-deps 安裝
  -p       效能模式:執行效能比較(bench/),印出表格並寫入 results/;
           速度不會造成失敗。-p quick:每點 3 次、較少的點(較快的概覽)
選項:
  -v       失敗時印出該檢查記錄檔的最後 30 行
  -k 樣式  只執行名稱符合 shell 樣式的檢查(例如 -k 'nc_*')
  -h       顯示這份說明

套件:foundation io_uring af_xdp dpdk rdma demo(預設全部)
例:sudo ./run_tests.sh -f af_xdp

最後一行為「N passed, N failed, N skipped」;有失敗時結束碼為 1。
EOF
}

MODE=basic
while getopts ":fpvk:h" opt; do
	case $opt in
	f) MODE=full ;;
	p) MODE=perf ;;
	v) export T_VERBOSE=1 ;;
	k) export T_ONLY=$OPTARG ;;
	h)
		usage
		exit 0
		;;
	:)
		echo "錯誤:選項 -$OPTARG 需要參數(./run_tests.sh -h 看說明)" >&2
		exit 64
		;;
	*)
		echo "錯誤:不認得的選項 -$OPTARG(./run_tests.sh -h 看說明)" >&2
		exit 64
		;;
	esac
done
shift $((OPTIND - 1))

if [ "$MODE" = perf ]; then
	known=("${PERF_SUITES[@]}")
else
	known=("${ALL_SUITES[@]}")
fi
suites=()
export T_BENCH_QUICK=0
for a in "$@"; do
	# -p quick:每點 3 次、較少的點(效能腳本讀 T_BENCH_QUICK)
	if [ "$MODE" = perf ] && [ "$a" = quick ]; then
		T_BENCH_QUICK=1
	else
		suites+=("$a")
	fi
done
[ ${#suites[@]} -gt 0 ] || suites=("${known[@]}")
for s in "${suites[@]}"; do
	ok=
	for k in "${known[@]}"; do [ "$s" = "$k" ] && ok=1; done
	if [ -z "$ok" ]; then
		echo "錯誤:沒有名為「$s」的套件;可用:${known[*]}" >&2
		exit 64
	fi
done

if [ "$MODE" != basic ] && [ "$(id -u)" -ne 0 ]; then
	echo "錯誤:-${MODE:0:1} 模式需要 root 權限,請改用:sudo ./run_tests.sh -${MODE:0:1}" >&2
	exit 1
fi

# 完整與效能模式:先補齊缺少的套件(全新機器只靠這一個指令就能準備好)
if [ "$MODE" != basic ] && ! bash scripts/install-deps.sh --check >/dev/null 2>&1; then
	if command -v apt-get >/dev/null 2>&1 || command -v dnf >/dev/null 2>&1; then
		echo "== 缺少部分套件,先執行 make install-deps"
		make -s install-deps || echo "警告:make install-deps 失敗,缺少的部分將被略過" >&2
	else
		echo "警告:缺少部分套件,且找不到 apt-get/dnf,相關檢查將被略過" >&2
	fi
fi

export T_MODE=$MODE
export T_LOGDIR=$ROOT/tests/logs
mkdir -p "$T_LOGDIR"
T_RESULTS=$(mktemp)
export T_RESULTS
trap 'rm -f "$T_RESULTS"' EXIT

echo "== 建置(make)"
if ! make -s all >"$T_LOGDIR/build.log" 2>&1; then
	echo "失敗  build/make:編譯錯誤(記錄:tests/logs/build.log)"
	sed 's/^/    | /' "$T_LOGDIR/build.log" | tail -n 30
	echo fail >>"$T_RESULTS"
else
	grep '^略過' "$T_LOGDIR/build.log" | sed 's/^/   /'
fi

if [ "$MODE" = perf ]; then
	export T_RAWDIR=$ROOT/results/raw
	mkdir -p "$T_RAWDIR"
	for s in "${suites[@]}"; do
		# 只清掉這次要重量的技術;其他技術先前的結果保留在比較表裡
		rm -f "$T_RAWDIR/$s.tsv" "$T_RAWDIR/$s.points.tsv"
		echo "== 效能:$s"
		if [ -f "bench/$s.sh" ]; then
			T_SUITE=$s bash "bench/$s.sh"
		else
			echo "略過  $s:bench/$s.sh 尚不存在"
			printf 'skip\t%s\t%s\n' "$s" "效能腳本尚不存在" >>"$T_RAWDIR/$s.tsv"
		fi
	done
	echo "== 比較表"
	bash scripts/comparison.sh "$T_RAWDIR" results
else
	for s in "${suites[@]}"; do
		echo "== 測試:$s"
		if [ -f "tests/$s.sh" ]; then
			T_SUITE=$s bash "tests/$s.sh"
		else
			echo "略過  $s:tests/$s.sh 尚不存在"
			echo skip >>"$T_RESULTS"
		fi
	done
fi

passed=$(grep -c '^pass$' "$T_RESULTS")
failed=$(grep -c '^fail$' "$T_RESULTS")
skipped=$(grep -c '^skip$' "$T_RESULTS")
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
