#!/bin/bash
# tests/data/dpdk/record-golden.sh — 錄下 dpdk_packet_processing 在固定輸入上的輸出(golden)
#
# 用法:sudo tests/data/dpdk/record-golden.sh 程式路徑 [counts]
#   (加 counts:只重錄 corpus-rxonly-*.counts,不動重構前錄下的 *.pcap)
# 以 net_pcap 讀 corpus.pcap 與 mix64.pcap,把 fwd(解析 / 不解析)、macswap、respond 的輸出
# 寫到本目錄的 *-<模式>.pcap。tests/dpdk.sh 的 golden_outputs 檢查以目前的程式重跑同樣的
# 輸入,要求每個訊框逐位元組相同。本目錄的 golden 檔由重構前的版本(commit dcc8fe8)錄下。
# corpus.pcap = 該版本 tests/tools/dpdk_pcap gen 的輸出(MAC 02:70:63:61:70:00,IP 10.0.0.1),
# mix64.pcap = dpdk_pcap mix mix64.pcap 64 7。
# corpus-rxonly-<hw|sw|off>.counts:rxonly 在 corpus.pcap 上各種 --l4-cksum 的計數(一行 key=value),
# 由 --l4-cksum 預設改為 hw 的版本(issue #19)錄下:L4 checksum 錯的封包只在 sw 算 malformed。
set -euo pipefail
BIN=${1:?用法:record-golden.sh 程式路徑}
DIR=$(cd "$(dirname "$0")" && pwd)
TMP=$(mktemp -d)
# shellcheck source=tests/dpdk_testpmd.sh
. "$DIR/../../dpdk_testpmd.sh"
trap 'rm -rf "$TMP"' EXIT

# run 名稱 輸入 模式 [程式選項…]:fwd 用兩個 net_pcap 連接埠,其他一個
run() {
	local name=$1 in=$2 mode=$3 n prefix="kbs-golden-$$-$RANDOM"
	shift 3
	n=$("$DIR/../../tools/dpdk_pcap" count "$in")
	local vdevs=(--vdev="net_pcap0,rx_pcap=$in,tx_pcap=$TMP/out0.pcap")
	if [ "$mode" = fwd ]; then
		vdevs+=(--vdev="net_pcap1,rx_pcap=$in,tx_pcap=$TMP/out1.pcap")
		n=$((n * 2))
	fi
	"$BIN" -l 0 --no-pci --no-huge -m 512 --file-prefix="$prefix" "${vdevs[@]}" -- \
		--mode "$mode" --packets "$n" --duration 20 --stats-interval 0 "$@" >"$TMP/log" 2>&1 ||
		{ cat "$TMP/log"; exit 1; }
	rm -rf "/var/run/dpdk/$prefix"
	if [ "$mode" = fwd ]; then
		cp "$TMP/out1.pcap" "$DIR/$name.pcap"
	else
		cp "$TMP/out0.pcap" "$DIR/$name.pcap"
	fi
	echo "$name:$("$DIR/../../tools/dpdk_pcap" count "$DIR/$name.pcap") 個訊框"
	cp "$TMP/log" "$TMP/last.log"
}
ONLY=${2:-all}
for in in corpus mix64; do
	[ "$ONLY" = all ] || break
	run "$in-fwd-parse" "$DIR/$in.pcap" fwd
	run "$in-fwd-io" "$DIR/$in.pcap" fwd --no-parse
	run "$in-macswap" "$DIR/$in.pcap" macswap
	run "$in-macswap-noparse" "$DIR/$in.pcap" macswap --no-parse
done
[ "$ONLY" != all ] || run corpus-respond "$DIR/corpus.pcap" respond --ip 0=10.0.0.1
for l4 in hw sw off; do
	run "corpus-rxonly-$l4" "$DIR/corpus.pcap" rxonly --l4-cksum "$l4"
	rm -f "$DIR/corpus-rxonly-$l4.pcap"
	dpdk_golden_counts "$TMP/last.log" >"$DIR/corpus-rxonly-$l4.counts"
	echo "corpus-rxonly-$l4.counts:$(cat "$DIR/corpus-rxonly-$l4.counts")"
done
