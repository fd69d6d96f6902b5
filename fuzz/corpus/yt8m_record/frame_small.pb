
#

id

vid0

labels
	8

audio


AA


BB

rgb


aaaa


bbbb