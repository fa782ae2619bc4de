#!/bin/bash
# scripts/demo.sh — sudo make demo:
# 安裝缺少的套件、建置、逐一實際執行四個示範(在自己建立並移除的沙盒中),
# 最後印出在這台機器上量到的總覽表(種子 README 的五列四欄)。
#
# 每個技術的示範步驟在 demo/<技術>.sh:結束碼 0 = 成功,77 = 略過(印出原因),其他 = 失敗。
# make demo 一律是短版量測(每列 1 輪,表上會標明);完整的量測(每列至少 5 輪交錯)是 sudo ./run_tests.sh -p。
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
ROOT=$(pwd)
export DEMO_SHORT=${DEMO_SHORT:-1}

TECHS=(io_uring af_xdp dpdk rdma)
start=$(date +%s)

banner() { printf '\n\033[1m==== %s ====\033[0m\n' "$*"; }

banner "核心旁路示範套件:make demo"
if [ "$(id -u)" -ne 0 ]; then
	echo "注意:目前不是 root。AF_XDP、DPDK 與 VM 需要 root,將被略過;完整示範請執行:sudo make demo"
elif ! bash scripts/install-deps.sh --check >/dev/null 2>&1; then
	banner "安裝缺少的套件"
	bash scripts/install-deps.sh || echo "警告:部分套件安裝失敗,相關示範將被略過" >&2
fi

banner "建置"
make -s all 2>&1 | sed 's/^/  /'

export T_RAWDIR=$ROOT/results/demo-raw
export T_LOGDIR=$ROOT/tests/logs/demo
rm -rf "$T_RAWDIR"
mkdir -p "$T_RAWDIR" "$T_LOGDIR"
export T_RESULTS=$T_LOGDIR/results

declare -A status
failed=0
for t in "${TECHS[@]}"; do
	banner "示範:$t"
	if [ ! -f "demo/$t.sh" ]; then
		status[$t]="略過:demo/$t.sh 尚不存在"
		printf 'skip\t%s\t%s\n' "$t" "示範尚不存在" >>"$T_RAWDIR/$t.tsv"
		echo "${status[$t]}"
		continue
	fi
	T_SUITE=$t bash "demo/$t.sh"
	rc=$?
	case $rc in
	0) status[$t]="完成" ;;
	77)
		status[$t]="略過"
		[ -s "$T_RAWDIR/$t.tsv" ] || printf 'skip\t%s\t%s\n' "$t" "無法在此執行" >>"$T_RAWDIR/$t.tsv"
		;;
	*)
		status[$t]="失敗(結束碼 $rc)"
		failed=1
		;;
	esac
done

banner "摘要(共 $(($(date +%s) - start)) 秒)"
for t in "${TECHS[@]}"; do
	printf '  %-10s %s\n' "$t" "${status[$t]}"
done
echo "完整效能比較(每列至少 5 輪交錯,本機型約 25 分鐘):sudo ./run_tests.sh -p(結果與曲線寫入 results/comparison.md、results/curves.md)"
echo "較快的概覽(每點 3 次、較少的點,本機型約 7 分鐘):sudo ./run_tests.sh -p quick"

banner "在這台機器上量到的比較表(短版)"
bash scripts/comparison.sh "$T_RAWDIR" results/demo || failed=1
exit $failed
