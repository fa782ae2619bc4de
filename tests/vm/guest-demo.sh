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
quiet() { grep -v '^RDMA 裝置\|^連線到\|^裝置:\|^已連線\|^記憶體\|^路徑\|^提示\|^已中斷'; }

echo "== 1/5 RDMA 裝置(rxe0 是建在 eth0 上的 Soft-RoCE)"
rdma link show
echo
echo "== 2/5 啟動伺服器:rdma_communication server --bind $IP(同時服務多個客戶端,每秒印統計)"
: >/tmp/server.log
rdma_communication server --bind "$IP" >/tmp/server.log 2>&1 &
i=0
while [ $i -lt 50 ] && ! grep -q 等待客戶端 /tmp/server.log; do
	sleep 0.1
	i=$((i + 1))
done
cat /tmp/server.log
echo
echo "== 3/5 客戶端:SEND 問候、RDMA WRITE 再 READ 回來驗證(rdma_communication client $IP)"
rdma_communication client "$IP"
demo_rc=$?
echo
echo "-- 伺服器這一側看到的(兩個 MR:本地區只有 LOCAL_WRITE,視窗以 iova 0 註冊):"
sed -n '/連入/,$p' /tmp/server.log
echo
echo "== 4/5 量測:延遲(send、write)與頻寬(write、send);注意兩側的 CPU"
rdma_communication client "$IP" --test lat --op send --iters $LAT_N | quiet
rdma_communication client "$IP" --test lat --op write --iters $LAT_N | quiet
rdma_communication client "$IP" --test bw --op write --iters $BW_N --depth 32 | quiet
rdma_communication client "$IP" --test bw --op send --iters $BW_N --depth 32 | quiet
if [ -x /run/rdma_tcp_pingpong ]; then
	echo "-- 對照:同一個 VM 裡的 TCP(傳統 socket)"
	rdma_tcp_pingpong server >/dev/null 2>&1 &
	tp=$!
	sleep 0.3
	rdma_tcp_pingpong client "$IP" --test lat --iters $LAT_N
	rdma_tcp_pingpong client "$IP" --test bw --iters $BW_N --size 65536
	kill $tp 2>/dev/null
fi
echo
echo "== 5/5 伺服器的每秒統計與每個客戶端的總結(單邊 WRITE 時伺服器 CPU 幾乎是 0)"
grep '^\[統計\|^\[#[0-9]*\] 完成' /tmp/server.log | tail -n 12
echo
if [ "${KBS_SHELL:-0}" = 1 ]; then
	echo "伺服器仍在背景執行($IP:7471)。可以自己試試:"
	echo "  rdma_communication client $IP --test lat --op read"
	echo "  rdma_communication client $IP --test bw --op send --size 4096 --event"
	echo "  rdma_communication client $IP --test bw --op write --duration 5 & rdma_communication client $IP"
	echo "  ib_write_lat -x 1 & sleep 1; ib_write_lat -x 1 $IP     # perftest(rxe 上要 -x 1)"
	echo "  rping -s -a $IP & rping -c -a $IP -C 3 -v"
fi
exit $demo_rc
