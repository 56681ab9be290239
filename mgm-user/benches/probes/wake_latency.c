/* Receive stamp -> running after epoll_wait, percentiles over N datagrams (port 9999); see README.md. */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static int cmp(const void*a,const void*b){long x=*(long*)a,y=*(long*)b;return x<y?-1:x>y;}
int main(int argc,char**argv){int N=atoi(argv[1]);int s=socket(AF_INET,SOCK_DGRAM|SOCK_NONBLOCK,0);int one=1;setsockopt(s,SOL_SOCKET,SO_TIMESTAMPNS,&one,sizeof one);
struct sockaddr_in a={.sin_family=AF_INET,.sin_port=htons(9999)};bind(s,(void*)&a,sizeof a);int e=epoll_create1(0);struct epoll_event ev={.events=EPOLLIN};epoll_ctl(e,EPOLL_CTL_ADD,s,&ev);
long *d=calloc(N,sizeof(long));int n=0;char b[2048];char c[512];
while(n<N){struct epoll_event out[8];if(epoll_wait(e,out,8,-1)<0)continue;struct timespec now;clock_gettime(CLOCK_REALTIME,&now);
 for(;;){struct iovec io={b,sizeof b};struct msghdr m={.msg_iov=&io,.msg_iovlen=1,.msg_control=c,.msg_controllen=sizeof c};if(recvmsg(s,&m,0)<0)break;
  for(struct cmsghdr*h=CMSG_FIRSTHDR(&m);h;h=CMSG_NXTHDR(&m,h)) if(h->cmsg_type==SCM_TIMESTAMPNS){struct timespec t;memcpy(&t,CMSG_DATA(h),sizeof t);if(n<N)d[n++]=(now.tv_sec-t.tv_sec)*1000000000L+(now.tv_nsec-t.tv_nsec);}}}
qsort(d,N,sizeof(long),cmp);printf("wake latency ns: p10 %ld p50 %ld p90 %ld p99 %ld\n",d[N/10],d[N/2],d[N*9/10],d[N*99/100]);}
