#!/bin/sh
# tests/vm/guest-demo.sh — 在 Soft-RoCE VM 裡執行的 RDMA 示範(busybox sh)。
# make rdma-vm 與 demo/rdma.sh 共用;DEMO_SHORT=1 時量測更短。
# 需要 /run 裡的 rdma_communication(由 tests/vm/rdma-vm.sh -f 放進來)。
IP=$KBS_IP
if [ "${DEMO_SHORT:-0}" = 1 ]; then
	LAT_N=500
	BW_N=300
else
	LAT_N=2000
	BW_N=1000
fi

echo "== 1/4 RDMA 裝置(rxe0 是建在 eth0 上的 Soft-RoCE)"
rdma link show
echo
echo "== 2/4 啟動伺服器:rdma_communication server --bind $IP"
: >/tmp/server.log
rdma_communication server --bind "$IP" >/tmp/server.log 2>&1 &
i=0
while [ $i -lt 50 ] && ! grep -q 等待客戶端 /tmp/server.log; do
	sleep 0.1
	i=$((i + 1))
done
cat /tmp/server.log
echo
echo "== 3/4 客戶端:SEND 問候、RDMA WRITE 再 READ 回來驗證(rdma_communication client $IP)"
rdma_communication client "$IP"
demo_rc=$?
echo
echo "-- 伺服器這一側看到的:"
sed -n '/連入/,$p' /tmp/server.log
echo
echo "== 4/4 量測:延遲(send、write)與頻寬(write)"
rdma_communication client "$IP" --test lat --op send --iters $LAT_N | grep -v '^RDMA 裝置\|^連線到\|^裝置:\|^已連線'
rdma_communication client "$IP" --test lat --op write --iters $LAT_N | grep -v '^RDMA 裝置\|^連線到\|^裝置:\|^已連線'
rdma_communication client "$IP" --test bw --op write --iters $BW_N --depth 32 | grep -v '^RDMA 裝置\|^連線到\|^裝置:\|^已連線\|^提示'
if [ -x /run/rdma_tcp_pingpong ]; then
	echo "-- 對照:同一個 VM 裡的 TCP ping-pong(傳統 socket)"
	rdma_tcp_pingpong server --once >/dev/null 2>&1 &
	sleep 0.3
	rdma_tcp_pingpong client "$IP" --test lat --iters $LAT_N
fi
echo
if [ "${KBS_SHELL:-0}" = 1 ]; then
	echo "伺服器仍在背景執行($IP:7471)。可以自己試試:"
	echo "  rdma_communication client $IP --test lat --op read"
	echo "  rdma_communication client $IP --test bw --op send --size 4096 --event"
	echo "  ib_write_lat -x 1 & sleep 1; ib_write_lat -x 1 $IP     # perftest(rxe 上要 -x 1)"
	echo "  rping -s -a $IP & rping -c -a $IP -C 3 -v"
fi
exit $demo_rc
