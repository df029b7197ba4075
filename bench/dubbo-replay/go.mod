module ferry.local/bench/dubbo-replay

go 1.26
