#!/bin/bash
# demo/af_xdp.sh — make demo 的 AF_XDP 段落(需要 root):
# 建立兩個命名空間與 veth,af_xdp_socket 以 respond 模式回答 ping,同時證明它只拿 ping 與 ARP:
# 同一個介面上的 TCP 連線照常由核心處理、主機設定(icmp_echo_ignore_all)照樣有效、
# SIGKILL 之後介面上什麼都不剩(bpf_link)。再做一次短暫的 rxdrop,
# 最後以 bench/af_xdp.sh 的精簡版量一次 AF_XDP vs TPACKET_V3 與 ping 延遲(寫入比較表)。
# shellcheck source=tests/lib.sh
. "$(dirname "$0")/../tests/lib.sh"
cd "$T_ROOT" || exit 1

is_root || {
	echo "略過:AF_XDP 需要 root(建立命名空間、掛載 XDP 程式):sudo make demo"
	bench_skip "需要 root"
	exit 77
}
for b in af_xdp_socket tests/tools/xdp_peer bench/pkt_rx bench/xdp_livegen; do
	[ -x "$b" ] || {
		echo "略過:$b 未建置(缺 libxdp-dev / libbpf-dev?sudo make install-deps)"
		bench_skip "$b 未建置"
		exit 77
	}
done

netns_pair xa xb va vb 198.18.0.1/24 198.18.0.2/24
echo "已建立命名空間 $NS_A(va 198.18.0.1)與 $NS_B(vb 198.18.0.2),以 veth 相連"
log=$(mktemp)
on_exit "rm -f '$log' '$log.tcp'"

echo "\$ sudo ip netns exec $NS_A ./af_xdp_socket va 0     # respond 模式:在使用者空間回答 ARP 與 ping"
start_bg "$log" ip netns exec "$NS_A" ./af_xdp_socket va 0
pid=$BG_PID
wait_log 10 "$log" '實際生效|錯誤' || true
sed 's/^/  | /' "$log"
grep -q 實際生效 "$log" || {
	echo "失敗:af_xdp_socket 沒有啟動"
	exit 1
}
echo "\$ sudo ip netns exec $NS_B ping -c 5 198.18.0.1"
ip netns exec "$NS_B" ping -c 5 -i 0.2 198.18.0.1 | sed 's/^/  /'
echo "同時,同一個介面上的 TCP 照常由核心處理(XDP 程式把它 XDP_PASS 給核心):"
echo "\$ echo 'TCP 不受影響' | sudo ip netns exec $NS_B nc -q1 198.18.0.1 7000    # A 裡有 nc -l 7000"
ip netns exec "$NS_A" timeout 10 nc -l -p 7000 >"$log.tcp" &
npid=$!
wait_for 5 ip netns exec "$NS_A" ss -Hltn 'sport = :7000' || true
echo 'TCP 不受影響' | ip netns exec "$NS_B" timeout 10 nc -q1 198.18.0.1 7000
wait "$npid"
echo "  A 收到:$(cat "$log.tcp")"
grep -q 'TCP 不受影響' "$log.tcp" || {
	echo "失敗:TCP 沒有送到核心"
	exit 1
}
echo "主機設定照樣有效:核心被設定成不回答 ping 時,程式 1 秒內跟著把 ping 交給核心(於是沒有人回答):"
echo "\$ sudo ip netns exec $NS_A sysctl -w net.ipv4.icmp_echo_ignore_all=1"
ip netns exec "$NS_A" sysctl -qw net.ipv4.icmp_echo_ignore_all=1
wait_log 3 "$log" '主機設定改變' || true
grep '主機設定改變' "$log" | sed 's/^/  | /'
ip netns exec "$NS_B" ping -c 2 -i 0.2 -W 1 198.18.0.1 | grep transmitted | sed 's/^/  /'
ip netns exec "$NS_A" sysctl -qw net.ipv4.icmp_echo_ignore_all=0
stop_bg "$pid" TERM 10 || {
	echo "失敗:af_xdp_socket 沒有正常結束"
	exit 1
}
sed -n '/== 總結/,$p' "$log" | sed 's/^/  | /'
[ "$(kv "$log" icmp_reply)" -ge 5 ] || {
	echo "失敗:ping 沒有全部由 AF_XDP 回答"
	exit 1
}
ip -n "$NS_A" link show va | grep -q prog/xdp && {
	echo "失敗:結束後 XDP 程式還掛著"
	exit 1
}
echo "  結束後 va 上已經沒有 XDP 程式(ip link show va 不再顯示 prog/xdp)"

echo
echo "\$ sudo kill -9 <af_xdp_socket>     # 連 SIGKILL 也不留下東西:XDP 程式以 bpf_link 掛載,屬於這個行程"
: >"$log"
start_bg "$log" ip netns exec "$NS_A" ./af_xdp_socket -q va 0
pid=$BG_PID
wait_log 10 "$log" '實際生效' || true
grep '掛載方式' "$log" | sed 's/^/  | /'
kill -KILL "$pid"
wait "$pid" 2>/dev/null
sleep 0.2
if ip -n "$NS_A" link show va | grep -q prog/xdp; then
	echo "失敗:SIGKILL 之後 XDP 程式還掛著"
	exit 1
fi
echo "  SIGKILL 之後 va 上已經沒有 XDP 程式"

echo
echo "\$ sudo ip netns exec $NS_A ./af_xdp_socket -m rxdrop va 0   # 對端送 100,000 個 UDP frame 到 9 埠"
: >"$log"
start_bg "$log" ip netns exec "$NS_A" ./af_xdp_socket -m rxdrop va 0
pid=$BG_PID
wait_log 10 "$log" '實際生效' || true
ip netns exec "$NS_B" tests/tools/xdp_peer send vb 100000 100000 >/dev/null
sleep 1.2
stop_bg "$pid" TERM 10
sed 's/^/  | /' "$log" | grep -v '^  | SUMMARY'
[ "$(kv "$log" rx)" -gt 0 ] || exit 1

echo
echo "量測(精簡版 bench/af_xdp.sh):"
ip netns del "$NS_A"
ip netns del "$NS_B"
DEMO_SHORT=1 RECEIVERS="xdp_native tpacket3" bash bench/af_xdp.sh
