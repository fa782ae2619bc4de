#!/bin/bash
# tests/dpdk_testpmd.sh — tests/dpdk.sh、bench/dpdk.sh 與 demo/dpdk.sh 共用的 DPDK 函式:
# 以互動模式驅動 dpdk-testpmd 當 net_memif 對端、保留 hugepage、讀 SUMMARY。
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

# dpdk_sumval 記錄檔 鍵:dpdk_packet_processing 最後一行 SUMMARY 裡的值
dpdk_sumval() {
	grep '^SUMMARY ' "$1" | tail -n1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# dpdk_golden_counts 記錄檔:tests/data/dpdk/*.counts 的格式(連接埠 0 的協定計數與 L4 未驗證數,一行);
# tests/dpdk.sh 的 pcap_l4_cksum 與 tests/data/dpdk/record-golden.sh 共用
dpdk_golden_counts() {
	local k out=
	for k in rx arp ipv4 ipv6 tcp udp icmp icmpv6 vlan qinq other malformed multiseg l4_unverified; do
		out+="$k=$(dpdk_sumval "$1" "p0_$k") "
	done
	echo "${out% }"
}

# dpdk_hugepages 頁數:確保至少有這麼多空閒的 2 MiB hugepage 並掛載 /dev/hugepages;
# 有改動就以 on_exit 登記恢復。做不到時回傳 1,原因放在 $HUGE_WHY(給呼叫者的 skip 用)。
# shellcheck disable=SC2034 # HUGE_WHY 由呼叫者讀取
dpdk_hugepages() {
	local want=$1 sys=/sys/kernel/mm/hugepages/hugepages-2048kB orig free
	HUGE_WHY=
	if [ ! -w "$sys/nr_hugepages" ]; then
		HUGE_WHY="此核心沒有 2 MiB hugepage"
		return 1
	fi
	orig=$(cat "$sys/nr_hugepages")
	free=$(cat "$sys/free_hugepages")
	if [ "$free" -lt "$want" ]; then
		on_exit "echo $orig > $sys/nr_hugepages"
		echo $((orig + want - free)) >"$sys/nr_hugepages"
	fi
	if ! grep -q '^[^ ]* /dev/hugepages hugetlbfs' /proc/mounts; then
		mkdir -p /dev/hugepages
		if ! mount -t hugetlbfs -o pagesize=2M nodev /dev/hugepages; then
			HUGE_WHY="無法掛載 hugetlbfs"
			return 1
		fi
		on_exit "umount /dev/hugepages"
	fi
	if [ "$(cat "$sys/free_hugepages")" -lt "$want" ]; then
		HUGE_WHY="無法保留 $want 個 2 MiB hugepage(記憶體不足)"
		return 1
	fi
}

# dpdk_ping_pct ping的輸出 分位數:每個回覆時間(time=…ms)的分位數,單位 µs;沒有回覆印 "-"
dpdk_ping_pct() {
	grep -o 'time=[0-9.]*' "$1" | cut -d= -f2 | sort -n |
		awk -v q="$2" '{v[NR] = $1} END {if (NR) {i = int(NR * q + 0.999); if (i < 1) i = 1; printf "%.1f", v[i] * 1000} else print "-"}'
}
