module leakgen

go 1.22
