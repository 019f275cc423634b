module vcli/kubetools

go 1.19
