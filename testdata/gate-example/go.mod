module example.com/gateexample

go 1.22
