#!/bin/bash
# tests/dpdk_testpmd.sh — tests/dpdk.sh 與 demo/dpdk.sh 共用:以互動模式驅動 dpdk-testpmd 當 net_memif 對端。
# 由呼叫者 source(需要先 source tests/lib.sh)。

# testpmd_memif_peer 記錄檔 socket file-prefix 我們的PID 引擎:秒數…
#   依序以各個轉送引擎執行指定秒數(例如 txonly:2 flowgen:1 rxonly:1),
#   讀出連接埠統計後送 SIGINT 給我們的程式,再結束 testpmd。
#   (memif 斷線時統計會歸零,所以要在我們結束前讀。)
testpmd_memif_peer() {
	local log=$1 sock=$2 prefix=$3 ours=$4 phase
	shift 4
	{
		sleep 1
		for phase in "$@"; do
			echo "set fwd ${phase%%:*}"
			echo start
			sleep "${phase#*:}"
			echo stop
		done
		echo "show port stats 0"
		sleep 0.5
		kill -INT "$ours"
		sleep 1
		echo quit
	} | timeout 60 dpdk-testpmd -l 0-1 --no-pci --no-huge -m 1024 --file-prefix="$prefix" \
		--vdev="net_memif0,role=client,socket=$sock" -- -i --no-mlockall \
		--total-num-mbufs=16384 >"$log" 2>&1
}

# testpmd_port_stat 記錄檔 RX-packets|TX-packets:testpmd「show port stats 0」裡的累計值
testpmd_port_stat() {
	awk -v k="$2:" '/NIC statistics for port 0/ {f = 1} f && $1 == k {print $2; exit}' "$1"
}
