module pynet

go 1.26
