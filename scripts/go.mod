module github.com/audexum/auth/scripts

go 1.26.0
