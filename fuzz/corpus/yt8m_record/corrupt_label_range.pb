
*

id

bad

labels
ÿÿÿÿÿÿÿÿÿ
&

audio


bb

rgb



aaaa