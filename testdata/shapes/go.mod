module pprof-chain/testdata/shapes

go 1.22
