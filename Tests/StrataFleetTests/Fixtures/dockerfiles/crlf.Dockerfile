FROM busybox
RUN echo one \
    two

# comment
CMD ["sh"]
