FROM alpine:3.20
ARG NAME=world
RUN <<EOF
echo "hello $NAME"
echo done
EOF
RUN <<-'SCRIPT' sh -x
	echo "not expanded: $NAME"
		deeper
	SCRIPT
COPY <<a.txt <<"b.txt" /dst/
alpha
a.txt
beta $NAME
b.txt
RUN python3 <<PY > /out.txt
print("<<not a heredoc>>")
PY
ONBUILD RUN <<EOF
echo trigger
EOF
CMD ["sh"]
